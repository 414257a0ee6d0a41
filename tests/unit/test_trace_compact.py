"""The trace page's packed rows: each text once, parents by index, the
sparse fields only where they hold something, details embedded only for a
small trace, and JSON that cannot close its script element."""

import orjson
from test_trace_story import PY, WEB, item, span, trace

from collector.read import trace_compact
from collector.read.traces import waterfall


def unpacked(data: dict) -> list[dict]:
    """The rows as trace_model.js's unpack() reads them."""
    strings, users = data["strings"], data["users"]
    texts = ("op", "description", "status", "service", "sdk", "environment", "release")
    rows = []
    for packed in data["rows"]:
        row = dict(zip(data["columns"], packed, strict=True))
        row.update({k: strings[row[k]] for k in texts})
        row["user"] = users[row["user"]]
        rows.append(row)
    return rows


def a_view(spans, errors=()):
    return waterfall(trace(spans, errors))


def test_rows_name_their_parent_by_index_and_each_text_once():
    spans = [
        span("1", None, "pageload", 0, 2, segment=True, user={"id": "42"}),
        *(span(f"c{k}", "1", "resource.script", 0.1 * k, 0.1 * k + 0.05, user={"id": "42"}) for k in range(1, 6)),
        span("o", "never-arrived", "http.server", 0.5, 0.9, sdk=PY, segment=True),
    ]
    data = trace_compact.compact(a_view(spans))
    rows = unpacked(data)
    assert [r["span_id"] for r in rows] == ["1", "c1", "c2", "c3", "c4", "c5", "o"]
    assert [r["parent"] for r in rows] == [None, 0, 0, 0, 0, 0, "never-arrived"]
    assert data["strings"].count("resource.script") == 1 and len(data["users"]) == 2
    assert rows[1]["user"] == {"id": "42"} and rows[6]["user"] is None
    assert rows[0]["flags"] == 1 and rows[6]["flags"] == 1 | 2 and rows[1]["flags"] == 0
    assert rows[0]["service"] == "web · sentry.javascript.browser" and rows[6]["sdk"] == PY["name"]
    # Seconds after the trace's start, and the span's own length.
    assert rows[2]["start"] == 0.2 and abs(rows[2]["duration"] - 0.05) < 1e-6


def test_only_rows_with_something_sparse_get_extras():
    fetch = span("f", "1", "http.client", 0.1, 0.4, data={"url": "http://api.local/orders?id=7"}, desc="GET /orders")
    spans = [
        span("1", None, "pageload", 0, 1, segment=True, data={"lcp": 1200.0}),
        fetch,
        span("q", "1", "db", 0.5, 0.6),
    ]
    data = trace_compact.compact(a_view(spans, errors=[item(0.55, "q", event_id="e" * 32, type="ValueError")]))
    extras = data["extras"]
    assert set(extras) == {0, 1, 2}
    assert extras[0] == {"data": {"lcp": 1200.0}}
    assert extras[1] == {"url": "http://api.local/orders?id=7"}
    (error,) = extras[2]["errors"]
    assert error["event_id"] == "e" * 32 and error["type"] == "ValueError" and "sdk" not in error


def test_details_ride_in_a_small_trace_only(monkeypatch):
    spans = [span("1", None, "pageload", 0, 1, segment=True, tags={"k": "v"}, data={"a": 1})]
    spans.append(span("2", "1", "db", 0.1, 0.2, data={"db.system": "sqlite"}))
    details = trace_compact.compact(a_view(spans))["details"]
    assert details["1"]["tags"] == {"k": "v"} and details["2"]["data"] == {"db.system": "sqlite"}
    monkeypatch.setattr(trace_compact, "EMBED_DETAILS_MAX", 1)
    assert trace_compact.compact(a_view(spans))["details"] is None


def test_hostile_text_cannot_end_the_script_element():
    evil = "</script><img src=x onerror=alert(1)>&'"
    spans = [span("1", None, "pageload", 0, 1, segment=True, desc=evil, user={"email": evil})]
    text = trace_compact.script_json(trace_compact.compact(a_view(spans)))
    assert "<" not in text and ">" not in text and "&" not in text and "'" not in text
    assert evil in orjson.loads(text)["strings"]


def test_a_large_trace_packs_to_a_fraction_of_its_span_objects():
    spans = [span("r", None, "pageload", 0, 20, segment=True, user={"email": "ada@example.com"})]
    for i in range(1, 2_000):
        data = {"sentry.op": "resource.script", "http.url": f"https://app.example.com/static/chunk-{i}.js"}
        parent = "r" if i < 10 else f"s{i // 10}"
        spans.append(span(f"s{i}", parent, "resource.script", i * 0.001, i * 0.001 + 0.05, data=data, sdk=WEB))
    view = a_view(spans)
    whole = len(orjson.dumps(view["rows"]))
    packed = len(trace_compact.script_json(trace_compact.compact(view)))
    assert packed < whole / 5, (packed, whole)
