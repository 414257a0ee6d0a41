"""Which anonymous visitor became which named user. Pure.

An app names a visitor before login with an anonymous id (`anon-1`), or
names no one at all, and sets the real user once authenticated. Where an
anonymous id and a named user share a container (a trace, a session, a
replay) and the anonymous id comes first, the anonymous id is an alias of
that user: the same person, before login.

Rules, as records of (container, time, user):
- two named users on one container are not aliases of each other (a shared
  trace may be a support agent looking at a customer's order);
- an anonymous id that follows a named user (a logout) is not an alias;
- an anonymous id shared with several named users (a middleware that names
  every visitor `anon-visitor`) is the alias of the first one it preceded,
  by the time that user appeared: one alias per anonymous id, never several.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.jsonshape import as_dict, as_number, as_str
from .trace_story import user_text

# The ids this project's apps give a visitor before login: anon-1, anon-visitor.
ANONYMOUS_ID_PREFIX = "anon"


def is_anonymous(user) -> bool:
    """Anonymous as the trace page says it (nothing names the user; an IP
    alone does not), or only an id of the anonymous kind (`anon-1`)."""
    user = as_dict(user)
    if user_text(user) == "anonymous":
        return True
    named_by = as_str(user.get("email")) or as_str(user.get("username"))
    return not named_by and (as_str(user.get("id")) or "").lower().startswith(ANONYMOUS_ID_PREFIX)


def identity(user) -> str | None:
    """The key a user record is known by: its id, else email, else username."""
    user = as_dict(user)
    return as_str(user.get("id")) or as_str(user.get("email")) or as_str(user.get("username"))


def names(user, key: str) -> bool:
    """Whether a user record is the one `key` (an id, email or username) names."""
    user = as_dict(user)
    return any(as_str(user.get(field)) == key for field in ("id", "email", "username"))


@dataclass(frozen=True)
class Switch:
    """`alias` was anonymous on `container` until `until`; `user` appeared there at `at`."""

    alias: str
    user: dict
    until: float
    at: float
    container: tuple

    def as_json(self) -> dict:
        return {
            "alias": self.alias,
            "user": identity(self.user),
            "until": self.until,
            "at": self.at,
            "kind": self.container[0],
            "id": self.container[1],
        }


def _switches_on(container: tuple, records: list[dict]) -> list[Switch]:
    """On one container, each anonymous id seen before a named user: the first named user after it."""
    timed = [(as_number(r.get("time")), r) for r in records]
    timed = sorted((pair for pair in timed if pair[0] is not None), key=lambda pair: pair[0])
    waiting: dict[str, float] = {}  # anonymous id -> its latest time, until a named user appears
    found = []
    for time, record in timed:
        user = as_dict(record.get("user"))
        key = identity(user)
        if key is None:
            continue
        if is_anonymous(user):
            waiting[key] = time
            continue
        for alias, until in waiting.items():
            # Strictly before: at the same instant, which came first is unknown.
            if until < time:
                found.append(Switch(alias, user, until, time, container))
        waiting = {alias: until for alias, until in waiting.items() if until >= time}
    return found


def switches(records: list[dict]) -> dict[str, Switch]:
    """Each anonymous id's alias: records are {"container": (kind, id), "time", "user"};
    an id seen before several named users belongs to the first that appeared."""
    by_container: dict[tuple, list[dict]] = {}
    for record in records:
        container = record.get("container")
        if isinstance(container, tuple):
            by_container.setdefault(container, []).append(record)
    first: dict[str, Switch] = {}
    for container, rows in by_container.items():
        for switch in _switches_on(container, rows):
            known = first.get(switch.alias)
            if known is None or (switch.at, str(switch.container)) < (known.at, str(known.container)):
                first[switch.alias] = switch
    return first
