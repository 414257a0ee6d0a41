"""A script as developers write them: sentry_sdk.init() with no DSN and no
sample rate in code, one traced job, lines on stdout and stderr, and an exit
code of its own. `collector run` must make all of it reach the collector."""

import sys

import sentry_sdk

sentry_sdk.init()
with sentry_sdk.start_transaction(name="nightly job", op="task"), sentry_sdk.start_span(op="step", name="load"):
    print("loaded 3 orders")
print("WARNING: order 2 has no email", file=sys.stderr)
print("could not reach the mail server", file=sys.stderr)
sentry_sdk.flush()
sys.exit(3)
