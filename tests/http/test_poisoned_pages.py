"""No stored value takes a page down.

Two ways in: rows written straight into SQLite, as an older version (or a
bug) may have left them, with every column of the tables the pages read
replaced by values of the wrong type or range; and real SDK payloads with
any field replaced by any JSON value, posted through ingest (hypothesis).
Every page and API endpoint must then answer 200 (or 404 for what is not
stored), never 400 or 500.
"""

from __future__ import annotations

import contextlib
import copy
import sqlite3
import time
from urllib.parse import quote

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdk_payloads
from collector.storage import schema
from stored_rows import NOW, healthy_rows, row_ids, write_rows

# Per payload kind; each example posts one envelope and reads ~20 pages.
EXAMPLES = 60

TEXT_POISON = [
    None,
    "",
    "<script>window.__x = 1</script>",
    "line\r\nbreak\x00nul",
    "ABCDEF0123456789" * 2,
    b"\xff\xfe blob",
    "x" * 3000,
]
NUMBER_POISON = [
    None,
    1.7e12 + NOW,
    NOW * 1e6,
    253402300800.0,
    -1.0,
    -1e300,
    1e300,
    float("inf"),
    float("-inf"),
    2**63 - 1,
    -(2**63),
    "not a number",
    b"\x00\x01",
]
JSON_POISON = [
    None,
    "[1, 2]",
    "5",
    '"text"',
    "null",
    "true",
    "{bad json",
    '[["a", "b", "c"]]',
    '[["k", "v"], [1, 2]]',
    '{"a": {"b": [1, {"c": null}]}}',
    '{"url.full": 5, "http.url": ["x"], "url": {"a": 1}}',
    '{"sampled": [], "sample_rate": {}}',
    '["sentry.python", 5, null, {"email": 7}, ["x"]]',
    b"\xff",
    "1e999",
    "[" * 50 + "]" * 50,
    '{"request": {"headers": [["Sentry-Trace", "x"], [["nested"], 1], "x"]}}',
    '{"request": {"headers": "sentry-trace: x"}}',
    '{"request": {"headers": 5}}',
    '{"request": "GET /"}',
]
JSON_COLUMNS = {
    "spans": {"tags", "data", "dsc"},
    "events": {"data"},
    "transactions": {"data"},
    "logs": {"attributes"},
    "traces": {"sdks", "users", "environments", "releases"},
}


def poisons(table: str, column: str) -> list:
    if column in JSON_COLUMNS.get(table, ()):
        return JSON_POISON + TEXT_POISON
    kind = schema.TABLES[table]["columns"][column]
    return NUMBER_POISON if kind in (int, float) else [*TEXT_POISON, 5, 1.5]


POISONED_TABLES = ["spans", "traces", "events", "transactions", "logs", "envelopes", "client_reports"]


def poisoned_database(path, table: str) -> tuple[list[str], list[str]]:
    """A database where, for each column of `table`, one trace holds rows of
    that table with the column replaced by each poison value (a trace
    summary row cannot have siblings: each poisoned one is a trace of its
    own). Returns the trace and event ids to visit."""
    conn = sqlite3.connect(path)
    schema.create(conn)
    trace_ids, event_ids = [], []
    for case, column in enumerate(c for c in schema.columns(table) if c not in ("id", "envelope_id")):
        base = healthy_rows(row_ids(case, 0))
        rows = {t: list(r) for t, r in base.items()}
        for variant, value in enumerate(poisons(table, column), start=1):
            fresh = healthy_rows(row_ids(case, variant))
            if table == "traces":
                rows["traces"].append({**fresh["traces"][0], column: value})
                trace_ids.append(fresh["traces"][0]["trace_id"])
                continue
            # Siblings in the case's trace, with their own ids.
            into_trace = {"trace_id": base["traces"][0]["trace_id"]} if column != "trace_id" else {}
            rows[table] += [{**r, **(into_trace if "trace_id" in r else {}), column: value} for r in fresh[table]]
            if table == "transactions":
                # A segment naming the transaction, so the doctor reads its request headers.
                rows["spans"].append({**fresh["spans"][0], "trace_id": base["traces"][0]["trace_id"]})
            event_ids += [fresh["events"][0]["event_id"]] if table == "events" else []
        trace_ids.append(base["traces"][0]["trace_id"])
        event_ids.append(base["events"][0]["event_id"])
        for name, table_rows in rows.items():
            for row in table_rows:
                columns, marks = ", ".join(row), ", ".join("?" * len(row))
                conn.execute(f"INSERT OR IGNORE INTO {name} ({columns}) VALUES ({marks})", tuple(row.values()))
    conn.commit()
    conn.close()
    return trace_ids, event_ids


def _path(value) -> str:
    return quote(value if isinstance(value, str) else str(value), safe="")


async def assert_pages(client, paths) -> None:
    bad = []
    for path in paths:
        r = await client.get(path, allow_redirects=False)
        if r.status not in (200, 302, 404):
            bad.append((path, r.status, (await r.text())[:300]))
    assert not bad, bad


GLOBAL_PAGES = [
    "/",
    "/traces",
    "/errors",
    "/users",
    "/doctor",
    "/doctor?since=100000d",
    "/api/traces",
    "/api/stats",
    "/api/doctor",
    "/api/doctor?since=100000d",
    "/traces?has_errors=1&min_duration_ms=1",
]


async def listed(client) -> tuple[list[str], list[str]]:
    """Trace ids and user keys the list pages link to."""
    traces = (await (await client.get("/api/traces?limit=1000")).json())["traces"]
    conn = sqlite3.connect(f"file:{client.db}?mode=ro", uri=True)
    users = [
        r[0] for r in conn.execute("SELECT DISTINCT coalesce(user_email, user_id, user_username) FROM events") if r[0]
    ]
    conn.close()
    return [t["trace_id"] for t in traces if t["trace_id"]], users


@pytest.mark.parametrize("table", POISONED_TABLES)
async def test_poisoned_rows_of_an_older_database(make_client, tmp_path, table):
    trace_ids, event_ids = poisoned_database(tmp_path / "c.db", table)
    client = await make_client()
    listed_traces, users = await listed(client)
    assert len(listed_traces) >= len(set(trace_ids)) * 0.9
    pages = [*GLOBAL_PAGES, *(f"/traces?page={n}" for n in range(1, len(listed_traces) // 50 + 2))]
    for trace_id in {*trace_ids, *listed_traces}:
        pages += [
            f"/traces/{_path(trace_id)}",
            f"/api/traces/{_path(trace_id)}",
            f"/api/doctor?trace_id={_path(trace_id)}",
        ]
    for event_id in event_ids:
        pages += [f"/events/{_path(event_id)}", f"/api/events/{_path(event_id)}", f"/search?q={_path(event_id)}"]
    pages += [f"/users/{_path(u)}" for u in users]
    await assert_pages(client, pages)


# --- any field of real SDK payloads replaced by any JSON value, through ingest ----------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e300, -1e300, -0.0, 1.7e12, 1.7e12 + 0.25, 1.7e15, 253402300800.0, -1.0, 2**63, 2**64 - 1]),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "<script>window.__x = 1</script>",
            '"><img src=x onerror=alert(1)>',
            "line\r\nbreak\x00",
            "\u2028\ufeff",
            "ABCDEF0123456789ABCDEF0123456789",
            "http://[::1",
            "GET http://[::1/x",
            "GET http://localhost:99999/x",
            "+275760-09-13T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "{{auto}}",
            "{{ default }}",
            "sentry.javascript.browser",
            "true",
        ]
    ),
)
# Keys the code looks for, so that nested replacements reach it.
KEYS = st.sampled_from(
    ["values", "frames", "type", "value", "name", "email", "id", "url", "url.full", "trace_id", "headers"]
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(KEYS | st.text(max_size=6), inner, max_size=4),
        # [name, value] pairs, as tags and headers may be sent.
        st.lists(st.tuples(st.text(max_size=8), inner).map(list), max_size=3),
    ),
    max_leaves=10,
)


def paths(node, prefix=()) -> list[tuple]:
    """Every key and list index at any depth."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    found = []
    for key, child in children:
        found += [(*prefix, key), *paths(child, (*prefix, key))]
    return found


def fields(document: dict) -> list[tuple]:
    """Paths of the envelope's fields: below its header, the items' headers
    (but for `length`, which frames the envelope) and payloads. Replacing
    the header or an item header whole only breaks the framing, a 400 that
    test_hostile_input covers."""

    def field(p: tuple) -> bool:
        if p[0] == "header":
            return len(p) >= 2
        return len(p) >= 3 and (p[2] == 1 or len(p) >= 4) and p[-1] != "length"

    return [p for p in paths(document) if field(p)]


def replace(document, path: tuple, value) -> None:
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@st.composite
def poisoned_envelopes(draw, kind: str):
    ids = sdk_payloads.fresh_ids(draw(st.integers(1, 2**127)), upper=draw(st.booleans()))
    # A copy: the payloads share the SDK dicts, which replace() must not change.
    document = copy.deepcopy(sdk_payloads.PAYLOADS[kind](ids, sdk_payloads.now()))
    where = fields(document)
    for _ in range(draw(st.integers(1, 6))):
        path = draw(st.sampled_from(where))
        # An earlier replacement may have taken this path away.
        with contextlib.suppress(KeyError, IndexError, TypeError):
            replace(document, path, draw(JSON_VALUES))
    return document, ids


def _storedrow_ids(db) -> tuple[set, set, set]:
    """Trace ids, event ids and user keys of the newest envelope's rows."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    newest = "(SELECT max(id) FROM envelopes)"

    def column(sql: str, tables: tuple) -> set:
        return {r[0] for t in tables for r in conn.execute(sql.format(t=t, newest=newest)) if r[0]}

    traces = column("SELECT trace_id FROM {t} WHERE envelope_id = {newest}", ("spans", "events", "logs", "feedback"))
    events = column("SELECT event_id FROM {t} WHERE envelope_id = {newest}", ("events",))
    users = column(
        "SELECT coalesce(user_email, user_id, user_username) FROM {t} WHERE envelope_id = {newest}", ("spans", "events")
    )
    conn.close()
    return traces, events, users


def pages_of(trace_ids, event_ids, users) -> list[str]:
    pages = [*GLOBAL_PAGES[:6], "/api/traces", "/api/stats", "/api/doctor"]
    for trace_id in trace_ids:
        p = _path(trace_id)
        pages += [f"/traces/{p}", f"/api/traces/{p}", f"/api/doctor?trace_id={p}", f"/search?q={p}"]
    for event_id in event_ids:
        pages += [f"/events/{_path(event_id)}", f"/api/events/{_path(event_id)}"]
    return pages + [f"/users/{_path(u)}" for u in users]


@pytest.mark.parametrize("kind", list(sdk_payloads.PAYLOADS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_any_field_of_sdk_payloads_replaced_by_any_json(client, kind, data):
    # One collector for all examples: what earlier examples stored stays, as it would for a real user.
    document, ids = data.draw(poisoned_envelopes(kind))
    r = await client.post("/api/1/envelope/?sentry_key=k", data=sdk_payloads.serialize(document))
    assert r.status < 500, await r.text()
    trace_ids, event_ids, users = _storedrow_ids(client.db)
    await assert_pages(client, pages_of({*trace_ids, ids["trace"]}, {*event_ids, ids["event"]}, users))


# Values of the wrong type or range for any field, each field getting three.
CONFUSERS = [
    5,
    "text",
    [["k", "v", "x"]],
    {"values": {"a": [1]}},
    1.7e12,
    None,
    -1e300,
    2**64 - 1,
    True,
    [1, "x", None],
    "",
    {"x": "y"},
]


@pytest.mark.parametrize("kind", list(sdk_payloads.PAYLOADS))
async def test_every_field_of_sdk_payloads_with_wrong_types(client, kind):
    """Deterministic beside the random examples above: every field of every
    payload, each replaced in turn, all into one trace per kind."""
    trace = f"{hash(kind) % 2**120:032x}"
    for index, path in enumerate(fields(sdk_payloads.PAYLOADS[kind](sdk_payloads.fresh_ids(1), sdk_payloads.now()))):
        for k in range(3):
            value = CONFUSERS[(index + k * 5) % len(CONFUSERS)]
            ids = {**sdk_payloads.fresh_ids(index * 3 + k + 2), "trace": trace}
            document = copy.deepcopy(sdk_payloads.PAYLOADS[kind](ids, sdk_payloads.now()))
            replace(document, path, value)
            r = await client.post("/api/1/envelope/?sentry_key=k", data=sdk_payloads.serialize(document))
            assert r.status < 500, (path, value, await r.text())
    conn = sqlite3.connect(f"file:{client.db}?mode=ro", uri=True)
    traces = [r[0] for r in conn.execute("SELECT trace_id FROM traces")]
    events = [r[0] for r in conn.execute("SELECT event_id FROM events")]
    users = [
        r[0]
        for t in ("spans", "events")
        for r in conn.execute(f"SELECT coalesce(user_email, user_id, user_username) FROM {t}")
    ]
    conn.close()
    await assert_pages(client, pages_of(traces, events, [u for u in users if u]))


# --- absurd times, huge traces, ids in any case, parameters out of range ---------------


def summary_row(trace_id: str, start, span_count: int = 1) -> dict:
    return {
        **healthy_rows(row_ids(0, 0))["traces"][0],
        "trace_id": trace_id,
        "start_timestamp": start,
        "end_timestamp": start,
        "span_count": span_count,
        "error_count": 0,
        "last_seen": NOW,
    }


async def test_traces_with_absurd_starts_sort_after_all_others(make_client, tmp_path):
    # As an older version stored them: milliseconds, past year 9999, days ahead, text, none.
    absurd = {
        "1" * 32: 1.7e12,
        "2" * 32: 253402300800.0,
        "3" * 32: time.time() + 3 * 86400,
        "4" * 32: "soon",
        "5" * 32: None,
    }
    sane = {"a" * 32: NOW, "b" * 32: NOW - 60, "c" * 32: NOW - 120}
    write_rows(tmp_path / "c.db", {"traces": [summary_row(t, start) for t, start in {**absurd, **sane}.items()]})
    client = await make_client()
    listed = [t["trace_id"] for t in (await (await client.get("/api/traces")).json())["traces"]]
    assert listed[:3] == ["a" * 32, "b" * 32, "c" * 32] and set(listed[3:]) == set(absurd)
    # Pages that straddle the two groups, and pages past both.
    for offset in range(len(listed) + 2):
        page = (await (await client.get(f"/api/traces?limit=2&offset={offset}")).json())["traces"]
        assert [t["trace_id"] for t in page] == listed[offset : offset + 2]
    html = await (await client.get("/traces")).text()
    assert html.index("a" * 32) < html.index("1" * 32) and "—" in html


async def test_a_huge_trace_is_read_and_shown_a_page_at_a_time(make_client, tmp_path):
    trace = "d" * 32
    base = healthy_rows(row_ids(1, 0))
    spans = [
        {
            **base["spans"][1],
            "trace_id": trace,
            "span_id": f"{i:016x}",
            "parent_span_id": None if i == 0 else f"{0:016x}",
            "start_timestamp": NOW + i / 1000,
            "timestamp": NOW + i / 1000 + 0.5,
        }
        for i in range(10_500)
    ]
    events = [{**base["events"][0], "trace_id": trace, "event_id": f"{i:032x}"} for i in range(1_005)]
    logs = [{**base["logs"][0], "trace_id": trace} for _ in range(1_003)]
    write_rows(
        tmp_path / "c.db", {"traces": [summary_row(trace, NOW, 10_500)], "spans": spans, "events": events, "logs": logs}
    )
    client = await make_client()

    html = await (await client.get(f"/traces/{trace}")).text()
    assert "Showing the first 10,000 of\n    10,500 spans (by start time); the API pages through all of them" in html
    assert f"/api/traces/{trace}?offset=10000" in html and "1,000 of 1,005 errors" in html
    data = orjson.loads(html.split('id="trace-data">', 1)[1].split("</script>", 1)[0])
    # Errors whose span is on a later page sit on a service row, not a span
    # (rows are packed: see collector/read/trace_compact.py).
    flags = data["columns"].index("flags")
    assert len([r for r in data["rows"] if not r[flags] & 4]) == 10_000

    first = await (await client.get(f"/api/traces/{trace}")).json()
    assert (len(first["spans"]), first["span_count"], first["next_offset"]) == (10_000, 10_500, 10_000)
    assert (len(first["errors"]), first["error_count"], len(first["logs"]), first["log_count"]) == (
        1_000,
        1_005,
        1_000,
        1_003,
    )
    starts = [s["start_timestamp"] for s in first["spans"]]
    assert starts == sorted(starts)
    rest = await (await client.get(f"/api/traces/{trace}?offset=10000")).json()
    assert (len(rest["spans"]), rest["next_offset"]) == (500, None)
    assert {s["span_id"] for s in rest["spans"]}.isdisjoint(s["span_id"] for s in first["spans"])
    window = await (await client.get(f"/api/traces/{trace}?limit=5&offset=3")).json()
    assert [s["span_id"] for s in window["spans"]] == [f"{i:016x}" for i in range(3, 8)] and window["next_offset"] == 8
    for query, count in (("limit=0", 1), ("limit=999999", 10_000), ("offset=99999999999999999999", 0)):
        r = await client.get(f"/api/traces/{trace}?{query}")
        assert r.status == 200 and len((await r.json())["spans"]) == count, query
    assert (await client.get(f"/api/traces/{trace}?offset=1e3")).status == 400


async def test_the_doctor_reads_a_bounded_number_of_rows(make_client, tmp_path):
    base = healthy_rows(row_ids(2, 0))["spans"][1]
    traces = [f"{n:032x}" for n in range(1, 7)]
    spans = [
        {**base, "trace_id": t, "span_id": f"{i:016x}", "start_timestamp": NOW} for t in traces for i in range(10_000)
    ]
    write_rows(tmp_path / "c.db", {"traces": [summary_row(t, NOW, 10_000) for t in traces], "spans": spans})
    client = await make_client()
    report = await (await client.get("/api/doctor?since=1d")).json()
    # 500 traces of 10,000 spans would be five million rows: 50,000 at most.
    assert report["summary"]["traces_checked"] == 5


async def test_ids_are_found_in_any_case(client):
    trace, event = "ABCDEF0123456789" * 2, "9EC79C33EC9942AB8353589FCB2E04DC"
    ids = {**sdk_payloads.fresh_ids(7), "trace": trace, "event": event}
    for kind in ("error_event", "transaction"):
        body = sdk_payloads.serialize(sdk_payloads.PAYLOADS[kind](ids, sdk_payloads.now()))
        r = await client.post("/api/1/envelope/?sentry_key=k", data=body)
        assert r.status == 200
    dashed = f"{event[:8]}-{event[8:12]}-{event[12:16]}-{event[16:20]}-{event[20:]}"
    for path in (
        f"/traces/{trace}",
        f"/traces/{trace.lower()}",
        f"/api/traces/{trace}",
        f"/events/{event}",
        f"/events/{dashed}",
        f"/events/{event.lower()}",
        f"/api/events/{event}",
        f"/api/events/{dashed.lower()}",
    ):
        assert (await client.get(path)).status == 200, path
    r = await client.get(f"/search?q={trace}", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"].lower() == f"/traces/{trace.lower()}"
    assert (await (await client.get(f"/api/doctor?trace_id={trace}")).json())["summary"]["traces_checked"] == 1


async def test_upper_case_ids_an_older_version_stored_are_found(make_client, tmp_path):
    ids = {k: v.upper() for k, v in row_ids(3, 0).items()}
    rows = healthy_rows(ids)
    write_rows(tmp_path / "c.db", {t: rows[t] for t in ("traces", "spans", "events")})
    client = await make_client()
    for form in (str.upper, str.lower):
        for path in (
            f"/traces/{form(ids['trace'])}",
            f"/api/traces/{form(ids['trace'])}",
            f"/events/{form(ids['event'])}",
            f"/api/events/{form(ids['event'])}",
        ):
            assert (await client.get(path)).status == 200, path
    api = await (await client.get(f"/api/traces/{ids['trace'].lower()}")).json()
    assert len(api["spans"]) == 2 and len(api["errors"]) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/traces?page=99999999999999999999",
        "/traces?page=-5",
        "/traces?page=abc",
        "/api/traces?offset=99999999999999999999",
        "/api/traces?limit=99999999999999999999",
        "/api/traces?min_duration_ms=nan",
        "/api/traces?min_duration_ms=1e999",
        "/api/traces/%0d",
        "/api/traces/%00",
        "/api/events/%0d%0a",
        "/traces/%0d",
        "/events/%00",
        "/search?q=%0d%0a",
        "/api/doctor?trace_id=%0d",
        "/users/%0d%0a",
    ],
)
async def test_parameters_out_of_range_are_answered(client, path):
    body = sdk_payloads.serialize(sdk_payloads.transaction(sdk_payloads.fresh_ids(9), NOW))
    await client.post("/api/1/envelope/?sentry_key=k", data=body)
    r = await client.get(path)
    assert r.status in (200, 404), (r.status, await r.text())


ANY_VALUES = [
    None,
    "",
    "x",
    [],
    [1],
    {},
    {"email": 5},
    float("nan"),
    float("inf"),
    float("-inf"),
    1e300,
    -1e300,
    1.7e12,
    -1.0,
    0,
    True,
    2**70,
    b"\xff",
    ["a", "b"],
    {"email": ["x"]},
]


@pytest.mark.parametrize("value", ANY_VALUES, ids=repr)
def test_template_filters_take_any_value(value):
    from collector.web import filters

    for show in filters.FILTERS.values():
        assert isinstance(show(value), str), show.__name__
    assert filters.fmt_time(1.7e12) == "1700000000000 (not a time in seconds)"


@pytest.mark.parametrize("value", ANY_VALUES, ids=repr)
def test_the_doctor_takes_any_value_in_the_fields_it_reads(value):
    from collector.read import doctor

    trace = "a" * 32
    spans = [
        {
            "trace_id": trace,
            "span_id": "1" * 16,
            "parent_span_id": "2" * 16,
            "is_segment": True,
            "op": "http.client",
            "description": "GET http://[::1/x",
            "start_timestamp": NOW,
            "timestamp": NOW + 1,
            "sdk": {"name": "sentry.javascript.browser"},
            "platform": "javascript",
            "user": {"email": "a@b"},
            "data": {"url": "http://localhost:1/x"},
            "dsc": {"sampled": "false"},
            "environment": "test",
            "event_id": None,
        }
    ]
    # The fields the doctor reads into; ids are text or None (traces.span_view makes them so).
    for key in (
        "op",
        "description",
        "start_timestamp",
        "timestamp",
        "sdk",
        "platform",
        "user",
        "data",
        "dsc",
        "is_segment",
    ):
        poisoned = [
            {**spans[0], key: value},
            {**spans[0], "span_id": "3" * 16, "op": "http.server", "sdk": {"name": "sentry.python"}},
        ]
        data = {
            "since": NOW - 60,
            "traces": {trace: {"spans": poisoned, "errors": []}},
            "candidates": poisoned,
            "requests": {"3" * 16: value},
            "sdk_last_seen": [{"sdk_name": "x", "last_seen": None, "envelopes": 1}],
            "client_reports": [{"sdk_name": "x", "reason": "network_error", "category": "error", "quantity": None}],
        }
        orjson.dumps(doctor.diagnose(data), option=orjson.OPT_NON_STR_KEYS)
