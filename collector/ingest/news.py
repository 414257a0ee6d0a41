"""What one envelope brought, as the entries of the live feed.

Computed from the envelope's rows while they are made, and stored with the
envelope (`envelopes.news`), so the live feed reads one row per envelope in
id order: a client that reconnects with `Last-Event-ID`, even after a
restart, gets exactly what it missed. Entries are small and bounded: the
feed says what happened and where to look, the pages show the rest.
"""

from __future__ import annotations

import orjson

# Enough of a log body or an error message to recognise it in one line.
MAX_TEXT = 300
# One envelope may hold a thousand logs: the feed lists the first ones and
# counts the rest.
MAX_ENTRIES = 100


def _short(value):
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    return value


def _user(row: dict) -> str | None:
    return row.get("user_email") or row.get("user_username") or row.get("user_id") or row.get("user_ip")


def _segment(row: dict) -> dict:
    start, end = row.get("start_timestamp"), row.get("timestamp")
    return {
        "kind": "segment",
        "trace_id": row.get("trace_id"),
        "span_id": row.get("span_id"),
        "parent_span_id": row.get("parent_span_id"),
        "name": _short(row.get("description")),
        "op": row.get("op"),
        "status": row.get("status"),
        "time": start,
        "duration": end - start if start is not None and end is not None else None,
        "sdk": row.get("sdk_name"),
        "environment": row.get("environment"),
        "user": _user(row),
    }


def _error(row: dict) -> dict:
    return {
        "kind": "error",
        "event_id": row.get("event_id"),
        "trace_id": row.get("trace_id"),
        "span_id": row.get("span_id"),
        "title": _short(row.get("title")),
        "level": row.get("level"),
        "time": row.get("timestamp"),
        "sdk": row.get("sdk_name"),
        "environment": row.get("environment"),
        "user": _user(row),
    }


def _log(row: dict) -> dict:
    return {
        "kind": "log",
        "trace_id": row.get("trace_id"),
        "span_id": row.get("span_id"),
        "level": row.get("level"),
        "body": _short(row.get("body")),
        "time": row.get("timestamp"),
        "sdk": row.get("sdk_name"),
        "environment": row.get("environment"),
    }


def _replay(row: dict) -> dict:
    return {
        "kind": "replay",
        "replay_id": row.get("replay_id"),
        "segment_id": row.get("segment_id"),
        "time": row.get("timestamp"),
        "sdk": row.get("sdk_name"),
        "environment": row.get("environment"),
        "user": _user(row),
    }


def _session(row: dict) -> dict:
    return {
        "kind": "session",
        "sid": row.get("sid"),
        "status": row.get("status") or row.get("kind"),
        "errors": row.get("errors"),
        "time": row.get("timestamp") or row.get("started"),
        "release": row.get("release"),
        "environment": row.get("environment"),
        "user": row.get("did"),
    }


def news_of(rows: dict[str, list[dict]]) -> list[dict]:
    """The feed entries of one envelope's rows, at most MAX_ENTRIES (then
    one `more` entry counting the rest)."""
    entries, children = [], {}
    for row in rows.get("spans", ()):
        if row.get("is_segment"):
            entries.append(_segment(row))
        else:
            children[row.get("trace_id")] = children.get(row.get("trace_id"), 0) + 1
    # Spans that came without their segment (streamed, or late): one entry
    # per trace, so an open trace page knows to look again.
    with_segment = {e["trace_id"] for e in entries}
    entries += [
        {"kind": "spans", "trace_id": trace_id, "count": count}
        for trace_id, count in children.items()
        if trace_id not in with_segment
    ]
    entries += [_error(r) for r in rows.get("events", ())]
    entries += [_replay(r) for r in rows.get("replays", ())]
    entries += [_session(r) for r in rows.get("sessions", ())]
    entries += [_log(r) for r in rows.get("logs", ())]
    if len(entries) > MAX_ENTRIES:
        entries = [*entries[:MAX_ENTRIES], {"kind": "more", "count": len(entries) - MAX_ENTRIES}]
    return entries


def encode(rows: dict[str, list[dict]]) -> str | None:
    entries = news_of(rows)
    return orjson.dumps(entries).decode() if entries else None
