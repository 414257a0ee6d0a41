"""Sentry's release health rules, as pure functions over stored `sessions` rows.

A session's updates (`session` items) are folded into one state, then sorted
into one outcome each: healthy, errored, unhandled, abnormal or crashed. The
`sessions` aggregates (server SDKs) arrive already sorted and add their counts.

How Sentry counts, read from Relay (relay-event-schema protocol/session.rs and
relay-server metrics_extraction/sessions) and Sentry's derived metrics:
- A session is counted once, by the update with `init: true`.
- In an aggregate, `exited` counts healthy sessions and `errored` the ones
  that errored but neither crashed, ended abnormally nor were unhandled: the
  five counts are disjoint, total = exited + errored + abnormal + unhandled + crashed.
- `unhandled` is a session status (Relay 2025, for SDKs whose unhandled errors
  do not end the process, e.g. Flutter's Dart errors) and an aggregate count.
  Relay counts it as errored and in a metric of its own, never as a crash: an
  unhandled session stays crash-free. @sentry/browser 11.12 sends it: its
  BrowserClient sets `_unhandledSessionStatus = "unhandled"` (core's default,
  and sentry-sdk's for Python, is "crashed"), so an uncaught error in a page
  makes that session `unhandled` with errors 1, never `crashed`.
- Crash-free sessions = 1 - crashed / sessions; crash-free users = 1 - users
  with a crashed session / users. Abnormal sessions do not count as crashes.
- A nil UUID as `did` names no user.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..protocol.jsonshape import as_int, as_number, as_str

FINAL_STATUSES = frozenset({"exited", "crashed", "abnormal"})
# The outcomes, mildest first; the aggregate counts of the same names.
OUTCOMES = ("healthy", "errored", "unhandled", "abnormal", "crashed")
AGGREGATE_COUNTS = {"exited": "healthy", "errored": "errored", "unhandled": "unhandled"}
AGGREGATE_COUNTS.update(abnormal="abnormal", crashed="crashed")
NIL_UUIDS = frozenset({"00000000-0000-0000-0000-000000000000", "0" * 32})


def user_of(did) -> str | None:
    """Rule: a distinct id names a user unless it is empty or the nil UUID (as Relay)."""
    did = as_str(did)
    return None if not did or did.lower() in NIL_UUIDS else did


def update_order(update: dict) -> tuple:
    """Rule: the highest `seq` is the latest update; ties (and updates without
    a seq, as the JS and Python SDKs send) go by `timestamp`, then by arrival."""
    seq = as_number(update.get("seq"))
    timestamp = as_number(update.get("timestamp")) or 0.0
    # Relay gives an update without a seq the time it arrived, in milliseconds.
    return (seq if seq is not None else timestamp * 1000, timestamp, as_int(update.get("id")) or 0)


def fold_updates(updates: Iterable[dict]) -> dict | None:
    """One session's updates as its state: the latest update, unless an
    earlier one ended it (rule: exited, crashed and abnormal are final; an
    update after a final one changes nothing). None for no updates."""
    ordered = sorted(updates, key=update_order)
    if not ordered:
        return None
    kept = []
    for update in ordered:
        kept.append(update)
        if as_str(update.get("status")) in FINAL_STATUSES:
            break
    state = kept[-1]
    # errors only grows in an SDK; an update that arrives late cannot lower it.
    errors = max((as_int(u.get("errors")) or 0 for u in kept), default=0)
    statuses = {as_str(u.get("status")) for u in kept}
    return {
        **state,
        "errors": max(errors, 0),
        # Rule: counted once, by its init update (a session whose init never
        # arrived is not counted at all, so rates stay within 0-100).
        "counted": any(u.get("init") is True for u in ordered),
        "outcome": outcome(as_str(state.get("status")), errors, "unhandled" in statuses),
        "did": next((user_of(u.get("did")) for u in reversed(kept) if user_of(u.get("did"))), None),
        "updates": len(ordered),
    }


def outcome(status: str | None, errors: int, was_unhandled: bool) -> str:
    """Rule: crashed and abnormal are what the final status says; unhandled
    once any update said so; errored = errors > 0 (or an error status) and
    none of those; else healthy."""
    if status in ("crashed", "abnormal"):
        return status
    if was_unhandled:
        return "unhandled"
    if errors > 0 or status == "errored":
        return "errored"
    return "healthy"


def aggregate_counts(data: dict) -> dict[str, int]:
    """Rule: an aggregate's counts, by outcome; a count that is not a
    non-negative integer counts nothing."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for key, name in AGGREGATE_COUNTS.items():
        value = data.get(key)
        if value.__class__ is int and value > 0:
            counts[name] += value
    return counts


class _Release:
    """The running totals of one (release, environment)."""

    def __init__(self, release, environment):
        self.key = {"release": release, "environment": environment}
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self.users: set[str] = set()
        self.crashed_users: set[str] = set()
        self.last_seen = 0.0

    def add(self, counts: dict[str, int], did: str | None, seen: float | None) -> None:
        for name, n in counts.items():
            self.counts[name] += n
        if did:
            self.users.add(did)
            if counts["crashed"]:
                self.crashed_users.add(did)
        self.last_seen = max(self.last_seen, seen or 0.0)

    def view(self) -> dict:
        sessions = sum(self.counts.values())
        users = len(self.users)
        return {
            **self.key,
            "sessions": sessions,
            "healthy": self.counts["healthy"],
            "errored": self.counts["errored"],
            "unhandled": self.counts["unhandled"],
            "abnormal": self.counts["abnormal"],
            "crashed": self.counts["crashed"],
            "crash_free_sessions": percent(sessions - self.counts["crashed"], sessions),
            "users": users,
            "crash_free_users": percent(users - len(self.crashed_users), users),
            "last_seen": self.last_seen or None,
        }


def percent(part: int, whole: int) -> float | None:
    """Rule: 0-100, or None when there is nothing to divide by."""
    return round(100.0 * part / whole, 2) if whole else None


def releases(states: Iterable[dict], aggregates: Iterable[dict]) -> list[dict]:
    """Per (release, environment): sessions by outcome, crash-free sessions
    and users; newest release activity first. `states` are fold_updates()'s,
    `aggregates` rows with their `data` parsed into a dict."""
    table: dict[tuple, _Release] = {}

    def entry(row: dict) -> _Release:
        key = (as_str(row.get("release")), as_str(row.get("environment")))
        return table.setdefault(key, _Release(*key))

    for state in states:
        if state["counted"]:
            counts = dict.fromkeys(OUTCOMES, 0)
            counts[state["outcome"]] = 1
            entry(state).add(counts, state["did"], as_number(state.get("timestamp")))
    for row in aggregates:
        data = row.get("data") if isinstance(row.get("data"), dict) else {}
        # Rule: aggregates add their counts; one without a did adds no user.
        entry(row).add(aggregate_counts(data), user_of(data.get("did")), as_number(row.get("started")))
    views = [r.view() for r in table.values()]
    return sorted(views, key=lambda v: v["last_seen"] or 0.0, reverse=True)
