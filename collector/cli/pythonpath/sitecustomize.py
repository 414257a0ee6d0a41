"""Put first on PYTHONPATH by `collector run`, so Python imports it at start.

sentry-sdk reads SENTRY_DSN and SENTRY_ENVIRONMENT from the environment but
not SENTRY_TRACES_SAMPLE_RATE (2.75 measured): an app whose
`sentry_sdk.init()` names no rate sends no transactions. When that variable
is set, this makes it the default: once `sentry_sdk.client` is imported, its
`get_options` fills `traces_sample_rate` from it when the app set neither a
rate nor a `traces_sampler`. Nothing is imported early (a process that never
imports sentry_sdk pays one finder lookup per import), and the
sitecustomize this one hides (Debian ships one; a venv may) still runs.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

RATE_VARIABLE = "SENTRY_TRACES_SAMPLE_RATE"
PATCHED_MODULE = "sentry_sdk.client"


def _rate() -> float | None:
    try:
        rate = float(os.environ.get(RATE_VARIABLE, ""))
    except ValueError:
        return None
    return rate if 0.0 <= rate <= 1.0 else None


def _default_the_rate(client_module, rate: float) -> None:
    original = client_module.get_options

    def get_options(*args, **kwargs):
        options = original(*args, **kwargs)
        if options.get("traces_sample_rate") is None and options.get("traces_sampler") is None:
            options["traces_sample_rate"] = rate
        return options

    client_module.get_options = get_options


class _WhenSentryClientLoads(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the normal loader of sentry_sdk.client so
    the module is patched right after it runs, then steps aside."""

    def __init__(self, rate: float):
        self.rate = rate

    def find_spec(self, name, path, target=None):
        if name != PATCHED_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            _default_the_rate(module, self.rate)

        spec.loader.exec_module = exec_module
        return spec


def _run_the_hidden_sitecustomize() -> None:
    """The next sitecustomize on sys.path, which Python would have run had
    this directory not come first."""
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_rate_given = _rate()
if _rate_given is not None and PATCHED_MODULE not in sys.modules:
    sys.meta_path.insert(0, _WhenSentryClientLoads(_rate_given))
_run_the_hidden_sitecustomize()
