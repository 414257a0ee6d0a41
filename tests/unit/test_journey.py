"""The journey's pure parts: who is anonymous, which anonymous id became
which user, and the timeline's order and bound, whatever types arrive."""

from __future__ import annotations

from collector.read import timeline
from collector.read.aliases import identity, is_anonymous, switches


def _on(container, time, **user):
    return {"container": container, "time": time, "user": user}


TRACE, SESSION = ("trace", "t1"), ("session", "s1")


def test_anonymous_is_nothing_naming_the_user_or_an_anon_id_alone():
    assert is_anonymous({}) and is_anonymous({"ip_address": "10.0.0.1"}) and is_anonymous("not a dict")
    assert is_anonymous({"id": "anon-1"}) and is_anonymous({"id": "Anon-visitor", "ip_address": "1.2.3.4"})
    assert not is_anonymous({"id": "42"}) and not is_anonymous({"id": "anon-1", "email": "a@example.com"})
    assert identity({"id": 42}) == "42" and identity({"email": ["x"], "username": "ada"}) == "ada"


def test_an_anonymous_id_before_a_named_user_is_its_alias():
    found = switches([_on(TRACE, 1.0, id="anon-1"), _on(TRACE, 3.0, id="42"), _on(TRACE, 2.0, id="anon-1")])
    assert found["anon-1"].as_json() == {
        "alias": "anon-1",
        "user": "42",
        "until": 2.0,
        "at": 3.0,
        "kind": "trace",
        "id": "t1",
    }


def test_two_named_users_are_not_aliases_and_a_logout_is_not_one():
    assert switches([_on(TRACE, 1.0, id="7"), _on(TRACE, 2.0, id="42")]) == {}
    assert switches([_on(TRACE, 1.0, id="42"), _on(TRACE, 2.0, id="anon-1")]) == {}
    # The same instant: which came first is unknown.
    assert switches([_on(TRACE, 1.0, id="anon-1"), _on(TRACE, 1.0, id="42")]) == {}


def test_an_anonymous_id_shared_with_two_users_is_the_alias_of_the_first_it_preceded():
    records = [
        _on(TRACE, 10.0, id="anon-1"),
        _on(TRACE, 12.0, id="7"),
        _on(SESSION, 1.0, id="anon-1"),
        _on(SESSION, 5.0, id="42"),
        _on(SESSION, 6.0, id="7"),
    ]
    switch = switches(records)["anon-1"]
    assert (identity(switch.user), switch.at, switch.container) == ("42", 5.0, SESSION)


def test_hostile_records_are_skipped_not_fatal():
    records = [
        {"container": ["trace", "x"], "time": 1.0, "user": {"id": "anon-1"}},  # not a tuple: no container
        _on(TRACE, "soon", id="anon-1"),
        _on(TRACE, float("nan"), id="42"),
        _on(TRACE, True, id="42"),
        {"container": TRACE, "time": 2.0, "user": None},
        _on(TRACE, 1.0, id={"id": "x"}),
    ]
    assert switches(records) == {}


def _entry(kind, time, id_):
    return {"kind": kind, "time": time, "id": id_}


def test_timeline_newest_or_oldest_first_bounded_untimed_last():
    entries = [
        _entry("trace", 2.0, "b"),
        _entry("error", None, "x"),
        _entry("session", 1.0, "a"),
        _entry("log", 3.0, "c"),
    ]
    shown, more = timeline.ordered(entries, 2)
    assert [e["id"] for e in shown] == ["c", "b"] and more == 2
    shown, more = timeline.ordered(entries, 10, oldest_first=True)
    assert [e["id"] for e in shown] == ["a", "b", "c", "x"] and more == 0


def test_a_users_own_entry_beats_an_aliass_copy():
    own, copy = _entry("trace", 1.0, "t"), {**_entry("trace", 1.0, "t"), "before_login": "anon-1"}
    assert timeline.merged([copy, own]) == [own] and timeline.merged([own, copy]) == [own]


def test_sessions_take_their_highest_seq_and_replays_their_span_from_hostile_rows():
    sessions = [
        {"sid": "s", "status": "exited", "started": 10.0, "timestamp": 30.0, "data": '{"seq": 2}', "sdk_name": "js"},
        {"sid": "s", "status": "ok", "started": 10.0, "timestamp": 40.0, "data": '{"seq": 1}'},
        {"sid": ["bad"], "status": "ok", "data": "not json"},
        {"sid": "t", "status": {"x": 1}, "started": "yesterday", "timestamp": None, "data": b"\xff"},
    ]
    by_sid = {e["id"]: e for e in timeline.session_entries(sessions)}
    assert (by_sid["s"]["status"], by_sid["s"]["time"], by_sid["s"]["sdk"]) == ("exited", 10.0, "js")
    assert by_sid["t"]["status"] is None and by_sid["t"]["time"] is None and set(by_sid) == {"s", "t"}
    replays = [
        {"replay_id": "r", "timestamp": 20.0, "urls": '["http://a/", 5]', "data": '{"replay_start_timestamp": 12}'},
        {"replay_id": "r", "timestamp": 50.0, "urls": "{}", "data": "[]", "sdk_name": "js"},
    ]
    [replay] = timeline.replay_entries(replays)
    assert (replay["time"], replay["duration"], replay["url"], replay["sdk"]) == (12, 38.0, "http://a/", "js")
