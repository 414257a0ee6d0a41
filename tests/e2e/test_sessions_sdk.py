"""Release health from the real SDKs: the Python sentry-sdk's session
aggregates (server mode) and @sentry/browser 11.12's session updates in
Chromium, both for release shop@1.0.0 in e2e, counted into one release."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from browser_scenario import build_bundle, open_test_page, serve_static

APP = Path(__file__).parent.parent / "apps" / "session_requests.py"
SHOP = "/api/sessions?release=shop%401.0.0&environment=e2e"


def load_page(page, origin: str, config: dict) -> None:
    open_test_page(page, Path(page.site), origin, config)
    page.wait_for_function("window.__done === true", timeout=30_000)
    assert page.evaluate("window.__flushed"), "the browser SDK did not flush within 5s"


def test_release_health_from_python_and_browser_sdks(collector, page, tmp_path):
    """By hand:
    Python (one aggregate, no did): /ok, /ok -> exited 2; /handled -> errored 1;
    /boom -> crashed 1. Four sessions, no users.
    Browser: page 1 (user u1) loads and stays healthy; page 2 (user u2)
    throws an uncaught error -> @sentry/browser marks that session
    `unhandled` (not `crashed`). Two sessions, users u1 and u2, none crashed.
    Release shop@1.0.0/e2e: sessions 6; healthy 2 + 1 = 3; errored 1;
    unhandled 1; crashed 1 (Python's); crash-free sessions 5/6 = 83.33 %;
    users 2; crash-free users 2/2 = 100 % (an unhandled session is no crash).
    """
    run = subprocess.run([sys.executable, str(APP), collector.dsn], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    site = tmp_path / "site"
    site.mkdir()
    build_bundle(site, "sessions_page.js")
    static, origin = serve_static(site)
    try:
        page.site = site
        load_page(page, origin, {"dsn": collector.dsn, "user": "u1", "crash": False})
        load_page(page, origin, {"dsn": collector.dsn, "user": "u2", "crash": True})
    finally:
        static.shutdown()
    [release] = collector.wait_for(
        lambda r: r["releases"] and r["releases"][0]["sessions"] == 6, "/api/releases", timeout=20
    )["releases"]
    assert release == {
        "release": "shop@1.0.0",
        "environment": "e2e",
        "sessions": 6,
        "healthy": 3,
        "errored": 1,
        "unhandled": 1,
        "abnormal": 0,
        "crashed": 1,
        "crash_free_sessions": 83.33,
        "users": 2,
        "crash_free_users": 100.0,
        "last_seen": release["last_seen"],
    }
    listing = collector.get(SHOP)
    assert {s["did"]: s["outcome"] for s in listing["sessions"]} == {"u1": "healthy", "u2": "unhandled"}
    assert {s["sdk"] for s in listing["sessions"]} == {"sentry.javascript.browser"}
    [aggregate] = listing["aggregates"]
    assert (aggregate["healthy"], aggregate["errored"], aggregate["crashed"]) == (2, 1, 1)
    assert aggregate["sdk"] == "sentry.python"
    [unhandled] = [s for s in listing["sessions"] if s["did"] == "u2"]
    detail = collector.get(f"/api/sessions/{unhandled['sid']}")
    # The uncaught error: of the same user and release while the session ran.
    assert [e["exception_value"] for e in detail["error_events"]] == ["checkout crashed"]
    # What the browser sent: the init update when the page went idle, then
    # {"init": false, "status": "unhandled", "errors": 1} in its own envelope.
    assert [(u["init"], u["status"], u["errors"]) for u in detail["updates"]] == [
        (True, "ok", 0),
        (False, "unhandled", 1),
    ]
    assert not detail["error_events"][0]["same_envelope"]
