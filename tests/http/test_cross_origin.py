"""Who may read what across origins, over HTTP in-process: ingest answers
every origin with CORS; the read API and pages answer no other origin, refuse
requests a browser marks as cross-site, and check every Host they are given
(header and absolute-form target) strictly."""

import asyncio
import itertools
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from collector.protocol.urls import LOOPBACK_NAMES
from collector.web.hosts import host_name, same_authority, split_host, target_authority
from collector.web.keys import WRITER
from helpers import envelope, event_item, post

ALLOWED = LOOPBACK_NAMES
READ_PATHS = [
    "/api/traces",
    "/api/stats",
    "/api/doctor",
    "/api/traces/" + "0" * 32,
    "/",
    "/traces",
    "/users",
    "/errors",
    "/doctor",
    "/static/app.css",
    "/no/such/page",
]
INGEST_PATHS = [
    "/api/1/envelope/",
    "/api/1/store/",
    "/api/store/",
    "/prefix/api/1/envelope",
    "/api/1/security/",
    "/api/1/minidump/",
    "/api/1/events/" + "a" * 32 + "/attachments/",
    "/stream",
]
FOREIGN_ORIGINS = [
    "http://evil.example",
    "https://evil.example",
    "http://localhost:3000",
    "http://127.0.0.1:1",
    "http://127.0.0.1",
    "http://[::1]:8969",
    "null",
    "file://",
    "http://127.0.0.1.evil.example",
]
PRIVATE = {
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def host_of(client) -> str:
    return f"127.0.0.1:{client.port}"


def assert_private(r, path):
    assert not [h for h in r.headers if h.lower().startswith("access-control-")], (path, dict(r.headers))
    for name, value in PRIVATE.items():
        assert r.headers.get(name) == value, (path, name, dict(r.headers))


def assert_cors(r):
    assert r.headers["Access-Control-Allow-Origin"] == "*", dict(r.headers)
    exposed = {h.strip() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed == {"x-sentry-error", "x-sentry-rate-limits", "retry-after"}


# --- Host parsing ---------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "[::1]evil.com",
        "[::1]:8969evil.com",
        "[::1].evil.com",
        "[::1]@evil.com",
        "[::1]:",
        "[::1]:80:80",
        "[::1]]",
        "[::1",
        "[]",
        "[]:80",
        "[evil.com]",
        "[127.0.0.1]",
        "[::1%]",
        "[[::1]]",
        "::1",
        "::1:8969",
        "[::1] :80",
        "",
        " ",
        ":",
        ":8969",
        "127.0.0.1:",
        "127.0.0.1::8969",
        "127.0.0.1:80:80",
        "127.0.0.1:8o",
        "127.0.0.1:0x50",
        "127.0.0.1:99999",
        "127.0.0.1:-1",
        "127.0.0.1:+80",
        "localhost:80a",
        "a@127.0.0.1",
        "evil@localhost:8969",
        "127.0.0.1 evil.com",
        "127.0.0.1\tx",
        "127.0.0.1/evil",
        "127.0.0.1\\evil",
        "127.0.0.1?x",
        "127.0.0.1#x",
        "localhost%00",
        "loc\u0430lhost",
        "l\u0131ocalhost",
        "localhost,evil.com",
    ],
)
def test_malformed_hosts_are_invalid(header):
    assert host_name(header) is None


def test_well_formed_hosts():
    cases = [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1:8969", "127.0.0.1"),
        ("LOCALHOST:1", "localhost"),
        ("[::1]", "::1"),
        ("[::1]:8969", "::1"),
        ("my-box.lan:65535", "my-box.lan"),
        # IPv6 is compared in one spelling.
        ("[0:0:0:0:0:0:0:1]:80", "::1"),
        ("[0:0::1]", "::1"),
        # Literally other names: refused unless allowed with --allow-host.
        ("localhost.", "localhost."),
        ("127.0.0.1.:80", "127.0.0.1."),
        ("127.1", "127.1"),
    ]
    for header, name in cases:
        assert host_name(header) == name, header


HOST_FORMS = sorted({"localhost", "127.0.0.1", "[::1]", "[0::1]", "localhost:8969", "[::1]:8969"})
JUNK = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x17F), min_size=1, max_size=12)


@given(form=st.sampled_from(HOST_FORMS), before=st.one_of(st.just(""), JUNK), after=JUNK)
def test_no_junk_around_an_allowed_host_is_read_as_it(form, before, after):
    # Whatever follows an allowed host, unless it is one :port, and whatever
    # precedes it (userinfo `a@`, another name, a bracket, non-ASCII
    # spaces…), the header no longer names that host.
    assume(not re.fullmatch(r"(:[0-9]{1,5})?", after))
    assert host_name(before + form + after) not in ALLOWED
    assert host_name(after + form) not in ALLOWED


@given(a=st.sampled_from(["::1", "127.0.0.1", "localhost"]), port=st.integers(0, 65535))
def test_every_port_of_an_allowed_host_is_that_host(a, port):
    host = f"[{a}]" if ":" in a else a
    assert split_host(f"{host}:{port}") == (a, port)


@pytest.mark.parametrize(
    "origin, host, same",
    [
        ("http://127.0.0.1:8969", "127.0.0.1:8969", True),
        ("http://LOCALHOST:8969", "localhost:8969", True),
        ("http://[::1]:8969", "[::1]:8969", True),
        ("http://localhost", "localhost:80", True),
        ("https://box.lan", "box.lan", True),
        ("http://localhost:8969", "127.0.0.1:8969", False),
        ("http://127.0.0.1:3000", "127.0.0.1:8969", False),
        ("https://127.0.0.1", "127.0.0.1:80", False),
        ("null", "127.0.0.1:8969", False),
        ("file://", "127.0.0.1:8969", False),
        ("http://127.0.0.1:8969/", "127.0.0.1:8969", False),
        ("http://a@127.0.0.1:8969", "127.0.0.1:8969", False),
        ("ftp://127.0.0.1:8969", "127.0.0.1:8969", False),
        ("http://127.0.0.1:8969", "", False),
    ],
)
def test_same_authority(origin, host, same):
    assert same_authority(origin, host) is same


@pytest.mark.parametrize(
    "target, authority",
    [
        ("/api/traces", None),
        ("*", None),
        ("http://evil.example/api/traces", "evil.example"),
        ("http://127.0.0.1:8969?x", "127.0.0.1:8969"),
        ("http://[::1]:1/x#y", "[::1]:1"),
        ("https://u@h/", "u@h"),
    ],
)
def test_target_authority(target, authority):
    assert target_authority(target) == authority


# --- ingest: CORS for everyone ---------------------------------------------------


async def test_ingest_is_open_to_every_origin(client):
    for path, origin in itertools.product(INGEST_PATHS, FOREIGN_ORIGINS[:4]):
        r = await client.options(
            path,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,sentry-trace",
                "Sec-Fetch-Site": "cross-site",
                "Sec-Fetch-Mode": "cors",
            },
        )
        assert r.status == 200, (path, origin)
        assert_cors(r)
        # Ingest is posted to, never read.
        assert r.headers["Access-Control-Allow-Methods"] == "POST"
        allowed = {h.strip() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
        assert {
            "x-sentry-auth",
            "content-type",
            "content-encoding",
            "authorization",
            "sentry-trace",
            "baggage",
            "origin",
            "accept",
            "x-requested-with",
        } <= allowed
    for origin in FOREIGN_ORIGINS:
        r = await post(
            client,
            envelope(event_item()),
            Origin=origin,
            Host="evil.example",
            **{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
        )
        assert r.status == 200, (origin, await r.text())
        assert_cors(r)


async def test_every_ingest_error_carries_cors(client, make_client, monkeypatch):
    # Without CORS on an error the browser SDK sees a network error instead
    # of the answer, and Replay re-uploads.
    foreign = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}
    answers = [
        await post(client, envelope(event_item()), query="", **foreign),  # no auth
        await post(client, b"not an envelope", **foreign),
        await post(client, b"x", **{"Content-Encoding": "gzip"}, **foreign),
        await post(client, b"", path="/api/1/minidump/", **foreign),
        await post(client, b"{}\n" + b'{"type":"attachment"}\nx\n' * 1001, **foreign),  # too many items
    ]
    assert sorted(r.status for r in answers) == [400, 400, 400, 401, 413]

    async def broken(*args):
        raise RuntimeError("a bug in ingest")

    with monkeypatch.context() as patch:
        # A bug is a 500 the SDK can read, not a dropped CORS header.
        patch.setattr("collector.ingest.endpoints.Ingest._envelope", broken)
        answers.append(await post(client, envelope(event_item()), **foreign))
    assert answers[-1].status == 500 and "internal error" in (await answers[-1].json())["detail"]

    await client.app[WRITER].close()
    answers.append(await post(client, envelope(event_item()), **foreign))
    assert answers[-1].status >= 500

    # Once the first writer let go of the file: a collector whose queue is always full.
    busy = await make_client(max_queue=0)
    answers.append(await post(busy, envelope(event_item()), **foreign))
    assert answers[-1].status == 429 and "Retry-After" in answers[-1].headers
    for r in answers:
        assert_cors(r)


# --- the read API and pages: this origin only -------------------------------------


async def test_reads_carry_no_cors_and_keep_working_without_browser_headers(client):
    for path in READ_PATHS:
        r = await client.get(path)
        assert r.status in (200, 404, 405), path
        assert_private(r, path)


CROSS_SITE_HEADERS = [
    {"Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest}
    for site in ("cross-site", "same-site", "CROSS-SITE")
    for mode, dest in [
        ("cors", "empty"),
        ("no-cors", "script"),
        ("no-cors", "image"),
        ("navigate", "iframe"),
        ("navigate", "frame"),
        ("no-cors", "style"),
        ("same-origin", "empty"),
        ("navigate", "object"),
    ]
]


async def test_reads_refused_when_the_browser_says_cross_site(client):
    for path, headers in itertools.product(READ_PATHS, CROSS_SITE_HEADERS):
        r = await client.get(path, headers=headers)
        assert r.status == 403, (path, headers)
        assert_private(r, path)
        text = await r.text()
        assert "Sec-Fetch-Site" in text
        if path.startswith("/api/"):
            assert "Sec-Fetch-Site" in (await r.json())["detail"]
        else:
            assert r.content_type == "text/plain"


async def test_reads_refused_from_a_foreign_origin(client):
    for path, origin in itertools.product(READ_PATHS, FOREIGN_ORIGINS):
        r = await client.get(path, headers={"Origin": origin})
        assert r.status == 403, (path, origin)
        assert origin in await r.text()
        assert_private(r, path)


async def test_own_origin_and_top_level_navigation_still_work(client):
    own = f"http://{host_of(client)}"
    for site in ("same-origin", "none", "cross-site", "same-site"):
        for path in ("/", "/traces", "/users", "/api/stats"):
            # A developer clicking a link to the collector from their app.
            r = await client.get(
                path, headers={"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
            )
            assert r.status == 200, (site, path)
            assert_private(r, path)
    # The collector's own pages fetching its API.
    headers = {"Origin": own, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
    r = await client.get("/api/stats", headers=headers)
    assert r.status == 200


async def test_state_changing_requests_need_the_own_origin(client):
    own = f"http://{host_of(client)}"
    for method, path in itertools.product(["POST", "PUT", "PATCH", "DELETE"], ["/api/traces", "/traces", "/api/x"]):
        for origin in FOREIGN_ORIGINS:
            r = await client.request(method, path, headers={"Origin": origin})
            assert r.status == 403, (method, path, origin)
            assert_private(r, path)
        # A cross-site form POST is a top-level navigation, and still refused.
        r = await client.request(
            method,
            path,
            headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
        )
        assert r.status == 403, (method, path)
        # Not refused as cross-origin: 404 or 405, still without CORS.
        for headers in ({}, {"Origin": own}):
            r = await client.request(method, path, headers=headers)
            assert r.status in (404, 405), (method, path, headers)
            assert_private(r, path)


async def test_preflight_of_reads_grants_nothing(client):
    for path in READ_PATHS:
        r = await client.options(
            path, headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
        )
        assert r.status == 403, path
        assert_private(r, path)
        r = await client.options(path)
        assert r.status in (404, 405), path
        assert_private(r, path)


# --- Host header and absolute-form target -------------------------------------------


async def test_malformed_or_foreign_host_refused_for_reads(client):
    for host in [
        "[::1]evil.com",
        "[::1]:1evil.com",
        "127.0.0.1:80x",
        "a@127.0.0.1",
        "localhost.",
        "::1",
        "[::1",
        "127.0.0.1 evil.com",
        "evil.example",
        "127.0.0.1.nip.io",
    ]:
        for path in ("/api/stats", "/traces"):
            r = await client.get(path, headers={"Host": host})
            assert r.status == 403, (host, path)
            assert_private(r, path)
    # Ingest accepts any Host: other machines and emulators send their own names.
    r = await post(client, envelope(event_item()), Host="[::1]evil.com")
    assert r.status == 200
    assert_cors(r)


async def raw_request(client, target: str, host: str, method: str = "GET", body: bytes = b"") -> tuple[int, str]:
    """(status, head) of one request written byte for byte: aiohttp's
    client cannot send an absolute-form target to a server that is not a proxy."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(
        f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )
    answer = await reader.read()
    writer.close()
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return int(head.split()[1]), head


async def test_absolute_form_target_must_name_an_allowed_host(client):
    own = host_of(client)
    cases = [
        ("http://evil.example/api/stats", own, 403),
        (f"http://{own}/api/stats", "evil.example", 403),
        (f"http://{own}/api/stats", "[::1]evil.com", 403),
        (f"http://evil.example:{client.port}/traces", own, 403),
        ("http://127.0.0.1.evil.example/traces", own, 403),
        (f"http://{own}/api/stats", own, 200),
        (f"http://localhost:{client.port}/traces", own, 200),
    ]
    for target, host, status in cases:
        got, head = await raw_request(client, target, host)
        assert got == status, (target, host, head)
        assert "access-control-" not in head.lower()
    # Ingest takes absolute-form targets naming any host, as it takes any Host.
    got, head = await raw_request(
        client, "http://evil.example/api/1/envelope/?sentry_key=k", "evil.example", "POST", envelope(event_item())
    )
    assert got == 200 and "Access-Control-Allow-Origin: *" in head
