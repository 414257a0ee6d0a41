"""The waterfall's rows as the trace page embeds them: only what it draws
before anything is clicked, in arrays, each text once. Pure.

A 10,000-span trace as span objects is ~8 MB of JSON (every row repeats
its trace id, SDK, user, tags and attributes); as columns with a table of
the texts it is ~1 MB. What the details pane shows (tags, attributes, the
sampling context) comes from `details()`, embedded for a small trace and
fetched per span (or all at once, for a search) for a large one.

Row layout (`COLUMNS`): text columns hold an index into `strings` (null
is one of them), `user` an index into `users` (null too), `parent` the index of the parent row (or the
parent's id when that span is not on the page), `start` seconds after the
trace's start and `duration` the span's length in seconds, both to the
microsecond (SDKs send no finer; `0.049999952316` costs three times the
bytes of `0.05` and the page parses 10,000 of them); `flags` bits are
FLAGS. Sparse things (errors and logs on a row, user changes, links to
other traces, received headers, a request's URL, web vitals) sit in
`extras`, by row index.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import orjson

from ..protocol.jsonshape import as_dict, as_str

COLUMNS = (
    "span_id",
    "parent",
    "depth",
    "op",
    "description",
    "start",
    "duration",
    "status",
    "service",
    "flags",
    "sdk",
    "environment",
    "release",
    "user",
)
FLAGS = {"is_segment": 1, "orphan": 2, "synthetic": 4}
# What the page embeds of an error and a log on a row (the tick, its tooltip, the pane's link).
ERROR_KEYS = ("event_id", "type", "value", "level", "timestamp", "at", "outlier")
LOG_KEYS = ("timestamp", "level", "body", "at", "outlier")
# Where SDKs put a request's URL (the row shows it when the description does not).
URL_KEYS = ("url.full", "http.url", "url")
# Attribute names a web vital sits in (`browser.web_vital.lcp.value`, a
# transaction's measurements; any name on a pageload): such a row's
# attributes go along, so the axis can mark the vital.
VITAL_HINTS = ("web_vital", "measurements")
# Details of at most this many spans ride in the page; past it the pane asks for them.
EMBED_DETAILS_MAX = 1_000
DETAIL_KEYS = ("segment_id", "origin", "tags", "data", "dsc")


def _interned() -> defaultdict:
    """value -> its index in first-seen order: `table[value]` adds a new value
    (None too: it is one more entry, null in JSON); list(table) is the values."""
    return defaultdict(itertools.count().__next__)


def _url(row: dict) -> str | None:
    """The request's URL for an http.client row whose description lacks it."""
    if not (row["op"] or "").startswith("http.client"):
        return None
    data = as_dict(row["data"])
    url = next((data[k] for k in URL_KEYS if data.get(k)), None)
    url = as_str(url) if not isinstance(url, (dict, list)) else orjson.dumps(url).decode()
    return url if url and url not in (as_str(row["description"]) or "") else None


def _vital_data(row: dict) -> dict | None:
    data = row["data"]
    if not isinstance(data, dict):
        return None
    if row["op"] == "pageload":
        return data
    try:
        # The names in one string: one scan in C, not a loop per name.
        names = "\n".join(data)
    except TypeError:  # a name that is not text (JSON gives none)
        names = "\n".join(map(str, data))
    return data if any(hint in names for hint in VITAL_HINTS) else None


def _extras(row: dict) -> dict | None:
    """The row's sparse fields that hold something; None for most rows."""
    url, vitals = _url(row), _vital_data(row)
    linked = row["user_change"] or row["started_trace"] or row["called_by"] or row["incoming"]
    if not (row["errors"] or row["logs"] or linked or url or vitals):
        return None
    found = {
        "errors": [{k: e.get(k) for k in ERROR_KEYS} for e in row["errors"]],
        "logs": [{k: log.get(k) for k in LOG_KEYS} for log in row["logs"]],
        "user_change": row.get("user_change"),
        "started_trace": row.get("started_trace"),
        "called_by": row.get("called_by"),
        "incoming": row.get("incoming"),
        "url": url,
        "data": vitals,
    }
    return {k: v for k, v in found.items() if v}


def _user_key(user: dict | None) -> tuple | None:
    return tuple(user.items()) if user else None


def _user_index(users: defaultdict, by_identity: dict, user: dict | None) -> int:
    """The index of the row's user in `users`; rows sharing one user dict
    (the spans of a pack) look it up by identity, not by its items."""
    found = by_identity.get(id(user))
    if found is None:
        found = by_identity[id(user)] = users[_user_key(user)]
    return found


def compact(view: dict) -> dict:
    """`traces.waterfall()`'s view as the page's script reads it (see the module's doc)."""
    rows, start = view["rows"], view["start"]
    texts, users, user_ids = _interned(), _interned(), {}
    index_of = {r["span_id"]: i for i, r in enumerate(rows)}
    packed, extras = [], {}
    segment, orphan, synthetic = FLAGS["is_segment"], FLAGS["orphan"], FLAGS["synthetic"]
    for i, r in enumerate(rows):
        s, e, parent = r["start_timestamp"], r["timestamp"], r["parent_span_id"]
        flags = (
            (segment if r["is_segment"] else 0) | (orphan if r["orphan"] else 0) | (synthetic if r["synthetic"] else 0)
        )
        packed.append(
            [
                r["span_id"],
                index_of.get(parent, parent) if parent != r["span_id"] else parent,
                r["depth"],
                texts[r["op"]],
                texts[r["description"]],
                None if s is None else round(s - start, 6),
                None if s is None or e is None else round(e - s, 6),
                texts[r["status"]],
                texts[r["service"]],
                flags,
                texts[(r["sdk"] or {}).get("name")],
                texts[r["environment"]],
                texts[r["release"]],
                _user_index(users, user_ids, r["user"]),
            ]
        )
        more = _extras(r)
        if more:
            extras[i] = more
    return {
        "trace_id": view["trace_id"],
        "start": start,
        "duration": view["duration"],
        "gaps": view["gaps"],
        "columns": COLUMNS,
        "rows": packed,
        "strings": list(texts),
        "users": [dict(u) if u else None for u in users],
        "extras": extras,
        "details": details(rows) if len(rows) <= EMBED_DETAILS_MAX else None,
    }


def details(spans: list[dict]) -> dict:
    """What the details pane shows beyond the row, by span id: the span's
    segment, origin, tags, attributes and dynamic sampling context."""
    return {s["span_id"]: {k: s.get(k) for k in DETAIL_KEYS} for s in spans if not s.get("synthetic")}


def script_json(value) -> str:
    """JSON safe inside <script type="application/json">: <, >, & and ' only
    ever sit inside strings there, where their \\u escapes read the same."""
    raw = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    for char, escaped in ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"), (b"'", b"\\u0027")):
        raw = raw.replace(char, escaped)
    return raw.decode()
