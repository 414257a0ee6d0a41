"""How the web layer answers: one error shape under /api (JSON with a
`detail`), HTML pages that keep the user's input, 404 for unknown paths,
the icon, and each resource the same in its JSON and its page."""

from __future__ import annotations

import re

import orjson
import pytest

from helpers import EVENT_ID, TRACE, envelope, event_item, post


def _ids_filled(path: str) -> str:
    # Any value for a path's {parameter}: an id nothing is stored under.
    return re.sub(r"\{[^}]+\}", "f" * 32, path)


def api_paths(client) -> list[str]:
    """Every GET route of the read API, from the app's router."""
    paths = set()
    for route in client.server.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method == "GET" and path and path.startswith("/api/"):
            paths.add(_ids_filled(path))
    return sorted(paths)


BAD_QUERIES = [
    "limit=abc",
    "offset=x",
    "limit=1.5",
    "offset=1e3",
    "min_duration_ms=fast",
    "since=yesterday",
    "q=",
    "page=2&offset=z",
]


async def test_every_api_error_is_json_with_a_detail(client):
    assert (await post(client, envelope(event_item()))).status == 200
    paths = api_paths(client)
    assert {"/api/traces", "/api/doctor", "/api/errors", "/api/users", "/api/search"} <= set(paths)
    answers = []
    for path in paths:
        for query in BAD_QUERIES:
            answers.append(("GET", f"{path}?{query}", await client.get(f"{path}?{query}", allow_redirects=False)))
        for method in ("PUT", "DELETE", "PATCH"):
            answers.append((method, path, await client.request(method, path)))
    statuses = set()
    for method, url, r in answers:
        statuses.add(r.status)
        assert r.status < 500, (method, url, r.status)
        if r.status >= 400:
            assert r.content_type == "application/json", (method, url, r.status, r.content_type)
            detail = (await r.json())["detail"]
            assert isinstance(detail, str) and detail, (method, url)
            assert r.headers["X-Sentry-Error"], (method, url)
    # Each kind of refusal was met: bad parameters, unknown ids, wrong methods.
    assert {400, 404, 405} <= statuses


@pytest.mark.parametrize(
    "query, name", [("limit=abc", "limit"), ("offset=ten", "offset"), ("min_duration_ms=fast", "min_duration_ms")]
)
async def test_a_bad_parameter_is_a_json_400_naming_it(client, query, name):
    r = await client.get(f"/api/traces?{query}")
    assert (r.status, r.content_type) == (400, "application/json")
    detail = (await r.json())["detail"]
    assert detail.startswith(f"{name} must be ") and "got '" in detail


async def test_unknown_paths_answer_404_in_the_shape_of_their_side(client):
    for path in ("/foo", "/foo/bar?x=1", "/traces/a/b"):
        r = await client.get(path)
        assert (r.status, r.content_type) == (404, "text/html"), path
        html = await r.text()
        assert "There is no page at" in html and 'action="/search"' in html and 'href="/traces"' in html
    for path in ("/api/foo", "/api", "/api/traces/a/b"):
        r = await client.get(path)
        assert (r.status, r.content_type) == (404, "application/json"), path
        assert path in (await r.json())["detail"]
    r = await client.put("/foo")
    assert r.status == 404
    # POSTs anywhere still go to ingest, which answers its own 404.
    r = await client.post("/foo", data=b"{}")
    assert r.status == 404 and "ingest" in (await r.json())["detail"]


async def test_a_known_path_with_the_wrong_method_is_405_with_a_reason(client):
    r = await client.put("/api/traces")
    assert (r.status, r.content_type) == (405, "application/json")
    assert "PUT" in (await r.json())["detail"] and r.headers["Allow"] == "GET, HEAD"
    r = await client.delete("/traces")
    assert (r.status, r.content_type, r.headers["Allow"]) == (405, "text/html", "GET, HEAD")
    r = await client.get("/api/1/envelope/")
    assert r.status == 405 and r.headers["Allow"] == "POST" and "detail" in await r.json()


async def test_favicon(client):
    r = await client.get("/favicon.ico")
    assert r.status == 200 and r.content_type.startswith("image/")
    assert b"<svg" in await r.read()
    assert 'rel="icon"' in await (await client.get("/traces")).text()


async def test_a_bad_filter_shows_the_form_again_with_what_was_typed(client):
    r = await client.get("/traces?user=ada%40example.com&environment=prod&min_duration_ms=fast&has_errors=1")
    assert (r.status, r.content_type) == (400, "text/html")
    html = await r.text()
    assert "min_duration_ms must be a number of milliseconds, got &#39;fast&#39;" in html
    assert 'value="ada@example.com"' in html and 'value="prod"' in html
    field = re.search(r'<label class="invalid">Min duration <input name="min_duration_ms"\s+value="fast"[^>]*>', html)
    assert field and 'aria-invalid="true"' in field.group(0)
    assert re.search(r'name="has_errors" value="1" checked', html)
    assert 'id="back" href="/traces"' in html and 'action="/search"' in html


async def test_a_bad_doctor_window_shows_the_form_again(client):
    r = await client.get("/doctor?since=yesterday")
    assert (r.status, r.content_type) == (400, "text/html")
    html = await r.text()
    assert "since must look like 30m, 1h, 2d or epoch seconds" in html
    assert re.search(r'<input name="since"\s+value="yesterday"[^>]*aria-invalid="true"', html)
    assert 'id="back" href="/doctor"' in html


async def test_what_the_user_typed_is_escaped_on_the_error_page(client):
    r = await client.get('/traces?user="><script>x()</script>&min_duration_ms=<b>')
    html = await r.text()
    assert r.status == 400 and "<script>x()" not in html and "<b>" not in html.split("<main>")[1]
    assert 'value="&#34;&gt;&lt;script&gt;x()&lt;/script&gt;"' in html


async def test_a_missing_trace_is_404_in_both_renderings(client):
    r = await client.get("/traces/" + "f" * 32)
    assert (r.status, r.content_type) == (404, "text/html") and "DSN" in await r.text()
    r = await client.get("/api/traces/" + "f" * 32)
    assert (r.status, r.content_type) == (404, "application/json")


async def test_the_list_pages_the_same_in_json_and_html(client):
    for n in range(3):
        trace = f"{n + 1:032x}"
        context = {"trace": {"trace_id": trace, "span_id": "1" * 16}}
        payload = {"event_id": f"{n + 1:032x}", "message": f"m{n}", "contexts": context}
        item = {"type": "event"}, orjson.dumps(payload)
        assert (await post(client, envelope(item, header={"event_id": f"{n + 1:032x}"}))).status == 200
    everything = (await (await client.get("/api/traces")).json())["traces"]
    assert len(everything) == 3
    second = (await (await client.get("/api/traces?limit=1&page=2")).json())["traces"]
    assert [t["trace_id"] for t in second] == [everything[1]["trace_id"]]
    html = await (await client.get("/traces?limit=1&page=2")).text()
    assert everything[1]["trace_id"] in html and everything[0]["trace_id"] not in html
    assert 'href="?limit=1&amp;page=1"' in html and 'href="?limit=1&amp;page=3"' in html


async def test_errors_users_and_search_have_json_too(client):
    exception = {"values": [{"type": "KeyError", "value": "x"}]}
    item = event_item("boom", user={"email": "ada@example.com"}, exception=exception)
    assert (await post(client, envelope(item))).status == 200
    [group] = (await (await client.get("/api/errors")).json())["groups"]
    assert group["latest_event_id"] == EVENT_ID and group["count"] == 1
    [user] = (await (await client.get("/api/users")).json())["users"]
    assert user["email"] == "ada@example.com"
    activity = await (await client.get("/api/users/ada@example.com")).json()
    errors = [e["id"] for e in activity["timeline"] if e["kind"] == "error"]
    assert errors == [EVENT_ID] and activity["errors"] == 1 and activity["key"] == "ada@example.com"
    found = await (await client.get(f"/api/search?q={EVENT_ID.upper()}")).json()
    assert found == {"kind": "event", "event_id": EVENT_ID, "url": f"/events/{EVENT_ID}"}
    r = await client.get(f"/search?q={EVENT_ID}", allow_redirects=False)
    assert (r.status, r.headers["Location"]) == (302, found["url"])
    r = await client.get("/api/search?q=" + "0" * 32)
    assert r.status == 404 and "no trace, event or span id" in (await r.json())["detail"]
    assert TRACE in (await (await client.get(f"/api/search?q={TRACE}")).json())["url"]
