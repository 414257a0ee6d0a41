"""The lists' reads that need more than one SQL statement: users merged
across records, issues with the level of their latest event, how many
traces a filtered list has, where a transaction sits on its trace.

Each query function takes a read-only connection, as those in queries.py
do; the merging is pure and tested on its own.
"""

from __future__ import annotations

from ..protocol.jsonshape import typed
from .journey import trace_union
from .queries import _like as like_pattern
from .queries import believable_until, dicts, id_forms, trace_filter_clauses, typed_rows

USER_TYPES = {
    "id": str,
    "email": str,
    "username": str,
    "ip": str,
    "sdk": str,
    "seen": int,
    "first_seen": float,
    "last_seen": float,
}
# One row per (id, email, username, SDK): many more than the users listed.
MAX_USER_RECORDS = 5000
NAMED = "coalesce(user_email, user_id, user_username) IS NOT NULL"


def user_records(conn, q: str = "", limit: int = MAX_USER_RECORDS) -> list[dict]:
    """Each distinct user record on segments, errors and replays, and what
    reported it; with `q`, those whose id, email, username or IP holds it
    (any case)."""
    match, args = NAMED, []
    if q:
        fields = ("user_id", "user_email", "user_username", "user_ip")
        match += " AND (" + " OR ".join(f"{f} LIKE ? ESCAPE '\\'" for f in fields) + ")"
        args = [like_pattern(q)] * len(fields)
    return typed_rows(
        conn.execute(
            "SELECT user_id AS id, user_email AS email, user_username AS username, max(user_ip) AS ip,"
            " sdk_name AS sdk, count(*) AS seen, min(ts) AS first_seen,"
            " max(CASE WHEN ts <= ? THEN ts END) AS last_seen FROM ("
            "  SELECT user_id, user_email, user_username, user_ip, sdk_name, start_timestamp AS ts FROM span_packs"
            f"   WHERE is_segment = 1 AND {match}"
            "  UNION ALL SELECT user_id, user_email, user_username, user_ip, sdk_name, timestamp FROM events"
            f"   WHERE {match}"
            "  UNION ALL SELECT user_id, user_email, user_username, user_ip, sdk_name, timestamp FROM replays"
            f"   WHERE {match})"
            " GROUP BY 1, 2, 3, 5 ORDER BY last_seen DESC LIMIT ?",
            (believable_until(), *args, *args, *args, limit),
        ),
        USER_TYPES,
    )


def _identity(record: dict, email_owner: dict) -> tuple[str, str]:
    """Who a record is: its id; else the id its email was seen with; else its
    email; else its username."""
    if record["id"]:
        return "id", record["id"]
    if record["email"] in email_owner:
        return "id", email_owner[record["email"]]
    if record["email"]:
        return "email", record["email"]
    return "username", record["username"] or ""


def _earliest(a: float | None, b: float | None) -> float | None:
    return min(a, b) if a is not None and b is not None else a if b is None else b


def merge_users(records: list[dict], limit: int = 200) -> list[dict]:
    """One entry per user, newest first: records with the same id are one
    user, and so are those without an id that share an email. The latest
    record's email, username and IP are shown (a username changes; the id does not)."""
    email_owner = {}
    for record in records:
        if record["id"] and record["email"]:
            email_owner.setdefault(record["email"], record["id"])
    users: dict[tuple, dict] = {}
    # Oldest first, so each later record overwrites what changed.
    for record in sorted(records, key=lambda r: r["last_seen"] or 0.0):
        user = users.setdefault(
            _identity(record, email_owner), {"seen": 0, "sdks": set(), "first_seen": None, "last_seen": None}
        )
        for field in ("id", "email", "username"):
            user[field] = record[field] or user.get(field)
        user["ip_address"] = record.get("ip") or user.get("ip_address")
        user["seen"] += record["seen"] or 0
        user["first_seen"] = _earliest(user["first_seen"], record.get("first_seen"))
        user["last_seen"] = record["last_seen"] or user["last_seen"]
        if record["sdk"]:
            user["sdks"].add(record["sdk"])
    merged = [
        {**user, "key": user["email"] or user["id"] or user["username"], "sdks": ", ".join(sorted(user["sdks"]))}
        for user in users.values()
    ]
    merged.sort(key=lambda u: u["last_seen"] or 0.0, reverse=True)
    return merged[:limit]


def _user_match(user: dict) -> list[tuple[str, str]]:
    """The user's records by its id and email (indexed), or by its username
    when it has neither."""
    pairs = [(c, user[f]) for c, f in (("user_id", "id"), ("user_email", "email")) if user.get(f)]
    return pairs or [("user_username", user.get("username"))]


def user_counts(conn, user: dict) -> dict:
    """Traces, errors, sessions (by `did`) and replays of one listed user."""
    match = _user_match(user)
    union, args = trace_union(match)
    found = {"traces": conn.execute(f"SELECT count(*) FROM ({union})", args).fetchone()[0]}
    # A UNION per column, each on its index; it counts a row naming both the id and the email once.
    for name, table, column in (("errors", "events", "event_id"), ("replays", "replays", "replay_id")):
        union = " UNION ".join(f"SELECT {column} FROM {table} WHERE {c} = ?" for c, _ in match)
        found[name] = conn.execute(f"SELECT count(*) FROM ({union})", [v for _, v in match]).fetchone()[0]
    dids = [v for v in (user.get("id"), user.get("email"), user.get("username")) if v]
    marks = ",".join("?" * len(dids))
    sql = f"SELECT count(DISTINCT sid) FROM sessions WHERE kind = 'session' AND did IN ({marks})"
    found["sessions"] = conn.execute(sql, dids).fetchone()[0]
    return found


def list_users(conn, q: str = "", limit: int = 200) -> list[dict]:
    """Users seen recently, each once however many records name them, with
    how many traces, errors, sessions and replays each has."""
    users = merge_users(user_records(conn, q), limit)
    for user in users:
        user.update(user_counts(conn, user))
    return users


GROUP_TYPES = {
    "fingerprint": str,
    "title": str,
    "level": str,
    "count": int,
    "first_seen": float,
    "last_seen": float,
    "users": int,
    "sdks": str,
    "latest_event_id": str,
}


def error_groups(conn, limit: int = 200) -> list[dict]:
    """Issues, newest first, each with the level and title of its latest
    event (a message is shown by its level, not as an error). A group whose
    events all claim to come from the far future sorts last."""
    rows = typed_rows(
        conn.execute(
            "SELECT g.*, e.level, e.title FROM ("
            " SELECT fingerprint, count(*) AS count, min(timestamp) AS first_seen,"
            "  max(CASE WHEN timestamp <= ? THEN timestamp END) AS last_seen,"
            "  count(DISTINCT coalesce(user_email, user_id, user_username)) AS users,"
            "  group_concat(DISTINCT sdk_name) AS sdks, max(event_id) AS latest_event_id"
            "  FROM events GROUP BY fingerprint ORDER BY last_seen DESC LIMIT ?) AS g"
            " LEFT JOIN events AS e ON e.event_id = g.latest_event_id ORDER BY g.last_seen DESC",
            (believable_until(), limit),
        ),
        GROUP_TYPES,
    )
    for row in rows:
        row["sdks"] = ", ".join((row["sdks"] or "").split(",")) if row["sdks"] else None
    return rows


def count_traces(conn, filters: dict) -> int:
    """How many traces the filtered list holds, on all its pages."""
    where, args = trace_filter_clauses(filters)
    sql = "SELECT count(*) FROM traces" + (f" WHERE {' AND '.join(where)}" if where else "")
    return conn.execute(sql, args).fetchone()[0]


def transaction_place(conn, event_id: str) -> dict | None:
    """The trace and segment span of a transaction, by its event id (any case)."""
    for form in id_forms(event_id):
        rows = dicts(conn.execute("SELECT trace_id, span_id FROM transactions WHERE event_id = ?", (form,)))
        if rows:
            return typed(rows[0], {"trace_id": str, "span_id": str})
    return None
