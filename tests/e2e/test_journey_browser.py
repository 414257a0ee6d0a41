"""Issue 13's journey with the real @sentry/browser 11.12 in Chromium and a
FastAPI backend with the real sentry-sdk: a visitor browses anonymously,
logs in and hits an error; /users/42 is one journey holding the session,
the replay, the traces and the error, with the anonymous id as an alias."""

from __future__ import annotations

from browser_scenario import build_bundle, open_test_page, serve_static, start_backend, stop_app


def _browse(collector, page, tmp_path) -> str:
    """Run the page once; the replay id it sent."""
    site = tmp_path / "site"
    site.mkdir()
    build_bundle(site, "journey_page.js")
    static, origin = serve_static(site)
    try:
        backend, backend_url = start_backend(collector.dsn, origin, anonymous_only=False)
        try:
            config = {"dsn": collector.dsn, "backend": backend_url}
            open_test_page(page, site, origin, config)
            page.wait_for_function("window.__done === true", timeout=40_000)
            assert page.evaluate("window.__flushed"), "the browser SDK did not flush within 5s"
            replay_id = page.evaluate("window.__replayId")
            # The backend's SDK sends on its own schedule: wait for its three requests.
            collector.wait_for(
                lambda j: j["aliases"] and sum(e["kind"] == "trace" for e in j["timeline"]) >= 1,
                "/api/users/42",
                timeout=20,
            )
        finally:
            stop_app(backend)
    finally:
        static.shutdown()
        static.server_close()
    return replay_id


def test_an_anonymous_visitor_who_logs_in_has_one_journey(collector, page, tmp_path):
    replay_id = _browse(collector, page, tmp_path)
    assert replay_id
    journey = collector.wait_for(lambda j: j["replays"] and j["errors"] and j["sessions"], "/api/users/42", timeout=20)
    assert [a["alias"] for a in journey["aliases"]] == ["anon-visitor"]
    [alias] = journey["aliases"]
    assert alias["user"] == "42" and alias["until"] < alias["at"]
    kinds = {e["kind"] for e in journey["timeline"]}
    assert {"session", "replay", "trace", "error"} <= kinds
    [replay] = [e for e in journey["timeline"] if e["kind"] == "replay"]
    assert replay["id"] == replay_id and replay["sdk"] == "sentry.javascript.browser"
    [error] = [e for e in journey["timeline"] if e["kind"] == "error"]
    assert "journey boom" in error["title"]
    [session] = [e for e in journey["timeline"] if e["kind"] == "session"]
    assert session["release"] == "web@1.0.0" and session["sdk"] == "sentry.javascript.browser"
    # The shared trace crossed the browser and the backend.
    [shared] = [e for e in journey["timeline"] if e["kind"] == alias["kind"] and e["id"] == alias["id"]]
    assert shared["switch"]["alias"] == "anon-visitor"
    if shared["kind"] == "trace":
        assert "sentry.javascript.browser" in shared["services"]
        assert any(s.startswith("sentry.python") for s in shared["services"])

    page.goto(collector.url + "/users/42")
    main = page.inner_text("main")
    assert "anonymous (anon-visitor) until" in main and "then user 42" in main
    assert "Before login this user was anon-visitor" in main
    assert page.locator(f'a[href="/replays/{replay_id}"]').count() == 1
    assert page.locator(f'a[href="/sessions/{session["id"]}"]').count() == 1
    assert "journey boom" in main
    page.click("text=oldest first")
    times = page.locator("table.timeline tr.entry td:first-child time").evaluate_all(
        "els => els.map(e => e.getAttribute('datetime'))"
    )
    assert times == sorted(times)
    page.goto(collector.url + "/users/anon-visitor")
    assert "This anonymous id became user 42" in page.inner_text("main")
    page.click("text=user 42")
    assert page.url.endswith("/users/42")
