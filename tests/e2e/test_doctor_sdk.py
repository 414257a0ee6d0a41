"""The doctor on real SDK traffic: the browser page and FastAPI backend of
the end-to-end test, wired right and wired wrong."""

import json
import subprocess
import sys
from pathlib import Path

from browser_scenario import run_scenario


def findings(collector, **query):
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return collector.get(f"/api/doctor?{q}")["findings"]


def test_correctly_wired_app_has_no_findings(collector, page, tmp_path):
    run = run_scenario(collector, page, tmp_path)
    found = findings(collector, since="1h")
    assert found == [], json.dumps(found, indent=1)
    assert findings(collector, trace_id=run["trace_id"]) == []


def test_backend_missing_from_trace_propagation_targets(collector, page, tmp_path):
    run = run_scenario(collector, page, tmp_path, propagate=False)
    found = findings(collector, trace_id=run["trace_id"])
    unlinked = [f for f in found if f["kind"] == "unlinked_outgoing_request"]
    assert {f["evidence"]["url"] for f in unlinked} == {
        run["backend_url"] + p for p in ("/api/login", "/api/orders", "/api/fail")
    }
    for f in unlinked:
        # The backend's own request headers show no sentry-trace arrived.
        assert f["evidence"]["backend_trace_id"] not in (None, run["trace_id"])
        assert f"tracePropagationTargets: ['{run['backend_url']}']" in f["fix"]
        assert f["sdk"] == "sentry.javascript.browser"
    # Each backend trace's own doctor shows the same one finding as the client's.
    for f in unlinked:
        assert f["evidence"]["backend_started_trace"] is True
        assert f in findings(collector, trace_id=f["evidence"]["backend_trace_id"])


def test_backend_that_only_sets_the_anonymous_user(collector, page, tmp_path):
    run = run_scenario(collector, page, tmp_path, anonymous_only=True)
    found = findings(collector, trace_id=run["trace_id"])
    anonymous = [f for f in found if f["kind"] == "anonymous_events"]
    assert {f["evidence"]["route"] for f in anonymous} == {"/api/login", "/api/orders", "/api/fail"}
    assert all(f["sdk"] == "sentry.python.fastapi" and "anon-visitor" in f["detail"] for f in anonymous)
    mismatch = [f for f in found if f["kind"] == "user_mismatch"]
    assert mismatch and mismatch[0]["evidence"]["frontend_user"]["email"] == "ada@example.com"
    assert "unlinked_outgoing_request" not in {f["kind"] for f in found}


def test_envelopes_from_one_side_only_make_an_orphan(collector):
    app = Path(__file__).resolve().parent.parent / "apps" / "fastapi_app.py"
    caller = "c" * 32 + "-" + "d" * 16 + "-1"
    out = subprocess.run(
        [sys.executable, str(app), collector.dsn, "--sentry-trace", caller], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    trace_id = json.loads(out.stdout)["items"]
    assert trace_id == "c" * 32
    found = findings(collector, trace_id=trace_id)
    # The trace's findings are what /doctor says of it: the orphan, and the
    # app's anonymous requests if /doctor counts this trace among them.
    orphans = [f for f in found if f["kind"] == "orphan_segment"]
    assert len(orphans) == 1 and {f["kind"] for f in found} <= {"orphan_segment", "anonymous_events"}
    assert orphans[0]["evidence"]["parent_span_id"] == "d" * 16 and orphans[0]["sdk"] == "sentry.python.fastapi"
    window = [f for f in collector.get("/api/doctor?since=1h")["findings"] if trace_id in _traces_of(f)]
    assert sorted(f["kind"] for f in window) == sorted(f["kind"] for f in found)
    cli = subprocess.run(
        [sys.executable, "-m", "collector", "doctor", "--db", str(collector.db), "--trace", trace_id],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 1 and "orphan_segment" in cli.stdout and "d" * 16 in cli.stdout


def _traces_of(finding: dict) -> set:
    return {finding["trace_id"], *finding["evidence"].get("traces", ())}
