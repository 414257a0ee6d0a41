"""In Chromium, from a page on another origin (another port of 127.0.0.1):
the page's script cannot read the collector's API or pages, while the real
@sentry/browser on that page still reports to it without a network error."""

import json

from browser_scenario import build_bundle, open_test_page, serve_static
from helpers import post_envelope

READ_PATHS = ["/api/traces", "/api/stats", "/users", "/"]


def open_foreign_page(collector, page, tmp_path):
    """The foreign page, once its script has finished; returns its origin and its server."""
    site = tmp_path / "site"
    site.mkdir()
    build_bundle(site, "cross_origin.js")
    server, origin = serve_static(site)
    config = {"dsn": collector.dsn, "collector": collector.url, "paths": READ_PATHS}
    link = f"<a id=trace-link href='{collector.url}/traces'>traces</a>"
    open_test_page(page, site, origin, config, title="someone else's site", body=link)
    page.wait_for_function("window.__done === true", timeout=30_000)
    return origin, server


def test_foreign_page_cannot_read_but_the_sdk_can_send(collector, page, tmp_path):
    # Something to steal: a user's email, as any app's SDK would send it.
    event = {"event_id": "ab" * 16, "message": "m", "user": {"email": "ada@example.com", "ip_address": "10.1.2.3"}}
    post_envelope(collector, {"event_id": event["event_id"]}, ({"type": "event"}, event))
    _origin, server = open_foreign_page(collector, page, tmp_path)
    try:
        reads = page.evaluate("window.__reads")
        for path, tries in reads.items():
            # A CORS read is refused by the browser: no Access-Control-Allow-Origin.
            assert "error" in tries["cors"], (path, tries["cors"])
            # A no-cors read is refused (CORP) or opaque: no status, no bytes.
            opaque = tries["opaque"]
            unreadable = opaque.get("type") == "opaque" and opaque["status"] == 0 and opaque["body"] == ""
            assert "error" in opaque or unreadable, (path, opaque)
            assert "ada@example.com" not in json.dumps(tries)

        # The SDK on the same page got a readable 200 for its event and its transaction.
        assert page.evaluate("window.__flushed")
        sent = page.evaluate("window.__sent")
        assert sorted(s["type"] for s in sent) == ["event", "transaction"], sent
        assert all(s["status"] == 200 for s in sent), sent
        event_id, trace_id = page.evaluate("[window.__eventId, window.__traceId]")
        assert collector.get(f"/api/events/{event_id}")
        assert collector.get(f"/api/traces/{trace_id}")["spans"]
        stats = collector.get("/api/stats")
        assert stats["rejected_requests"] == 0 and stats["failed_items"] == 0, stats

        # A link from that page to the collector still opens it.
        with page.expect_navigation() as navigation:
            page.click("#trace-link")
        assert navigation.value.status == 200 and page.url == f"{collector.url}/traces"
    finally:
        server.shutdown()
        server.server_close()
