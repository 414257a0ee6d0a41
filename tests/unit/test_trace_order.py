"""The waterfall's order and the span views of a trace, pure: the index-based
ordering keeps every rule of the old one (children by start, true roots
before orphans, a cycle's spans shown once as orphans, a duplicated id),
and spans sharing an SDK and user share one copy of them, equal to what a
span read alone gets."""

from collector.read.traces import _order, assemble, span_view

T = 1_800_000_000.0


def node(span_id, parent, start):
    return {"span_id": span_id, "parent_span_id": parent, "start_timestamp": None if start is None else T + start}


def shape(spans):
    ordered, roots = _order(spans)
    return [(s["span_id"], depth, orphan) for s, depth, orphan in ordered], roots


def test_children_follow_their_parent_by_start_whatever_the_input_order():
    spans = [node("c2", "root", 2), node("c1", "root", 1), node("g", "c2", 3), node("root", None, 0)]
    assert shape(spans) == ([("root", 0, False), ("c1", 1, False), ("c2", 1, False), ("g", 2, False)], 1)


def test_true_roots_come_before_orphans_and_a_span_without_start_sorts_last():
    spans = [
        node("orphan", "never-sent", 0),
        node("late", None, 5),
        node("early", None, 1),
        node("no-time", "early", None),
    ]
    assert shape(spans) == (
        [("early", 0, False), ("no-time", 1, False), ("late", 0, False), ("orphan", 0, True)],
        2,
    )


def test_a_parent_cycle_is_shown_once_as_orphans_and_a_self_parent_is_an_orphan_top():
    spans = [node("a", "b", 0), node("b", "a", 1), node("self", "self", 2)]
    ordered, roots = shape(spans)
    assert sorted(ordered) == [("a", 0, True), ("b", 1, False), ("self", 0, True)]
    assert roots == 0


def test_a_duplicated_span_id_shows_both_copies_and_their_children_once():
    spans = [node("p", None, 0), node("p", None, 1), node("kid", "p", 2)]
    ordered, _ = shape(spans)
    assert [i for i, _, _ in ordered].count("kid") == 1
    assert [i for i, _, _ in ordered].count("p") == 2


def row(span_id, **over):
    base = dict.fromkeys(
        [
            "trace_id",
            "parent_span_id",
            "segment_id",
            "is_segment",
            "op",
            "description",
            "start_timestamp",
            "timestamp",
            "status",
            "sdk_version",
            "platform",
            "environment",
            "release",
            "user_username",
            "user_ip",
            "tags",
            "data",
            "origin",
            "event_id",
            "dsc",
        ]
    )
    return {**base, "span_id": span_id, "sdk_name": "sentry.python", "user_id": "42", "user_email": None, **over}


def test_spans_with_the_same_sdk_and_user_share_them_and_equal_a_span_read_alone():
    rows = [row("a"), row("b"), row("c", user_id="7"), row("d", sdk_name=None)]
    spans = assemble("t", {"spans": rows, "errors": [], "logs": [], "span_count": 4, "error_count": 0, "log_count": 0})
    alone = [span_view(r) for r in rows]
    assert spans["spans"] == alone
    a, b, c, d = spans["spans"]
    assert a["user"] is b["user"] and a["sdk"] is b["sdk"]
    assert c["user"] == {"id": "7"} and d["sdk"] is None and d["user"] == {"id": "42"}


def test_a_value_that_cannot_be_a_key_is_read_without_the_memo():
    rows = [row("a", user_id=["not", "text"]), row("b", user_id=["not", "text"])]
    spans = assemble("t", {"spans": rows, "errors": [], "logs": [], "span_count": 2, "error_count": 0, "log_count": 0})
    assert [s["user"] for s in spans["spans"]] == [None, None]
