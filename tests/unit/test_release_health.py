"""Sentry's session rules, one by one, over rows as the sessions table holds them."""

from __future__ import annotations

from collector.read.release_health import aggregate_counts, fold_updates, percent, releases


def update(sid="s1", seq=None, status="ok", errors=0, init=False, did="u1", ts=100.0, **extra):
    row = {"sid": sid, "seq": seq, "status": status, "errors": errors, "init": init, "did": did}
    return {**row, "timestamp": ts, "started": 90.0, "release": "r1", "environment": "prod", **extra}


def outcome(*updates):
    return fold_updates(updates)["outcome"]


def test_the_highest_seq_is_the_state_whatever_the_arrival_order():
    state = fold_updates([update(seq=3, status="exited", ts=1), update(seq=1, init=True, ts=5)])
    assert state["status"] == "exited" and state["updates"] == 2


def test_seq_ties_go_by_timestamp_and_no_seq_goes_by_timestamp():
    assert fold_updates([update(seq=2, status="exited", ts=9), update(seq=2, ts=3)])["status"] == "exited"
    assert fold_updates([update(status="crashed", ts=9), update(init=True, ts=3)])["status"] == "crashed"


def test_final_states_are_sticky():
    # An "ok" with a higher seq after the session exited changes nothing.
    state = fold_updates([update(seq=1, init=True), update(seq=2, status="crashed"), update(seq=3, status="ok")])
    assert state["outcome"] == "crashed"
    assert outcome(update(seq=1, status="exited"), update(seq=2, status="crashed", errors=1)) == "healthy"


def test_errored_means_errors_and_no_crash():
    assert outcome(update(init=True, errors=2)) == "errored"
    assert outcome(update(init=True, errors=2, status="crashed")) == "crashed"
    assert outcome(update(init=True, errors=1, status="abnormal")) == "abnormal"
    assert outcome(update(init=True, status="exited")) == "healthy"
    # A late update cannot lower the error count.
    assert outcome(update(seq=2, errors=0, status="exited"), update(seq=1, errors=3)) == "errored"


def test_unhandled_is_its_own_outcome_and_not_a_crash():
    assert (
        outcome(update(seq=1, init=True, status="unhandled", errors=1), update(seq=2, status="exited")) == "unhandled"
    )
    rows = releases([fold_updates([update(init=True, status="unhandled", errors=1)])], [])
    assert rows[0]["unhandled"] == 1 and rows[0]["crash_free_sessions"] == 100.0


def test_a_session_counts_once_by_its_init_update():
    counted = fold_updates([update(seq=1, init=True), update(seq=2), update(seq=3, status="exited")])
    never_started = fold_updates([update(sid="s2", seq=2, status="crashed")])
    [row] = releases([counted, never_started], [])
    assert (row["sessions"], row["crashed"]) == (1, 0)
    # init must be JSON true, not a truthy string.
    assert fold_updates([update(init="true")])["counted"] is False


def test_aggregates_add_disjoint_counts_and_no_users_without_did():
    data = {"started": 60, "exited": 5, "errored": 2, "crashed": 1, "abnormal": 1, "unhandled": 1}
    [row] = releases([], [{"release": "r1", "environment": "prod", "started": 60.0, "data": data}])
    assert (row["sessions"], row["healthy"], row["errored"], row["crashed"]) == (10, 5, 2, 1)
    assert row["crash_free_sessions"] == 90.0
    assert (row["users"], row["crash_free_users"]) == (0, None)


def test_aggregate_counts_ignore_what_is_not_a_count():
    counts = aggregate_counts({"exited": "5", "errored": -2, "crashed": True, "abnormal": 1.5, "unhandled": [1]})
    assert sum(counts.values()) == 0


def test_users_are_distinct_dids_and_crash_free_users_ignore_abnormal():
    states = [
        fold_updates([update(sid="a", init=True, did="u1", status="crashed")]),
        fold_updates([update(sid="b", init=True, did="u1")]),
        fold_updates([update(sid="c", init=True, did="u2", status="abnormal")]),
        fold_updates([update(sid="d", init=True, did=None)]),
        fold_updates([update(sid="e", init=True, did="00000000-0000-0000-0000-000000000000")]),
    ]
    aggregate = {"release": "r1", "environment": "prod", "started": 1.0, "data": {"did": "u3", "crashed": 1}}
    [row] = releases(states, [aggregate])
    assert (row["sessions"], row["crashed"], row["abnormal"]) == (6, 2, 1)
    assert row["users"] == 3  # u1, u2, u3: no did and the nil UUID name no one
    assert row["crash_free_users"] == round(100 / 3, 2)  # only u2 never crashed
    assert row["crash_free_sessions"] == round(400 / 6, 2)


def test_releases_apart_and_newest_activity_first():
    old = fold_updates([update(sid="a", init=True, ts=10.0)])
    new = fold_updates([update(sid="b", init=True, ts=20.0, release="r2")])
    assert [r["release"] for r in releases([old, new], [])] == ["r2", "r1"]


def test_percent_is_null_with_nothing_to_divide_by():
    assert percent(0, 0) is None
    assert percent(1, 3) == 33.33


def test_hostile_values_do_not_raise():
    state = fold_updates([update(seq="x", status=["crashed"], errors={"n": 1}, did=5, ts=None, init=True)])
    assert state["outcome"] == "healthy" and state["did"] == "5"
    rows = releases([state], [{"release": None, "environment": 3, "started": None, "data": None}])
    assert [(r["release"], r["environment"], r["sessions"]) for r in rows] == [("r1", "prod", 1), (None, "3", 0)]
