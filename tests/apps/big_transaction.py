"""The real sentry-sdk sending one transaction of about 2.6 MB: 1,000 spans
(the SDK's default max_spans) with about 2.6 KB of data each.

    python big_transaction.py DSN

Prints the transaction's trace id and the size the SDK serialized, as JSON.
"""

import json
import sys

import sentry_sdk
from sentry_sdk.envelope import Envelope

sizes = []


class MeasuringTransport(sentry_sdk.transport.HttpTransport):
    # Notes how large each transaction item the SDK sends is, then sends it.
    def capture_envelope(self, envelope: Envelope) -> None:
        sizes.extend(len(i.get_bytes()) for i in envelope.items if i.data_category == "transaction")
        super().capture_envelope(envelope)


sentry_sdk.init(dsn=sys.argv[1], traces_sample_rate=1.0, transport=MeasuringTransport, release="big@1.0.0")

with sentry_sdk.start_transaction(op="task", name="import catalogue") as transaction:
    for n in range(1000):
        with sentry_sdk.start_span(op="db", name=f"INSERT row {n}") as span:
            for key in ("a", "b", "c"):
                span.set_data(key, f"{n}:{key}:" + "x" * 735)
sentry_sdk.flush()
print(json.dumps({"trace_id": transaction.trace_id, "sizes": sizes}))
