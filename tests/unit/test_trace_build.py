"""The trace page's build holds the cyclic GC off while it runs, and gives it
back only when the last of the pages built at once is done (pages are built
on several reader threads); the services table still gathers every
environment and release when neighbouring rows share a service."""

import gc
import threading

from collector.read.trace_build import gc_paused
from collector.read.traces import waterfall

T = 1_800_000_000.0
PY = {"name": "sentry.python", "version": "2"}


def test_the_gc_resumes_when_the_last_build_ends_even_if_one_raised():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        try:
            with gc_paused():
                raise ValueError("a build that failed")
        except ValueError:
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_builds_on_two_threads_keep_it_off_until_both_end():
    inside, release = threading.Event(), threading.Event()

    def other_build():
        with gc_paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other_build)
    thread.start()
    inside.wait(5)
    with gc_paused():
        pass
    assert not gc.isenabled()
    release.set()
    thread.join(5)
    assert gc.isenabled()


def span(span_id, environment, release, dsc=None):
    return {
        "trace_id": "t",
        "span_id": span_id,
        "parent_span_id": None if span_id == "a" else "a",
        "segment_id": None,
        "is_segment": span_id == "a",
        "op": "db",
        "description": span_id,
        "start_timestamp": T,
        "timestamp": T + 1,
        "status": None,
        "sdk": PY,
        "platform": "python",
        "environment": environment,
        "release": release,
        "user": None,
        "tags": None,
        "data": None,
        "origin": None,
        "event_id": None,
        "dsc": dsc,
    }


def test_every_environment_release_and_sampling_of_a_service_is_listed():
    spans = [
        span("a", "dev", "1", {"sample_rate": "1", "sampled": "true"}),
        span("b", "dev", "1"),
        span("c", "dev", "1", {"sample_rate": "0.5", "sampled": "true"}),
        span("d", "prod", "2"),
    ]
    trace = {"trace_id": "t", "spans": spans, "errors": [], "logs": [], "span_count": 4}
    trace.update(error_count=0, log_count=0, users=[])
    (service,) = waterfall(trace)["services"]
    assert service["environments"] == ["dev", "prod"] and service["releases"] == ["1", "2"]
    assert service["sampling"] == [{"sample_rate": "0.5", "sampled": "true"}, {"sample_rate": "1", "sampled": "true"}]
