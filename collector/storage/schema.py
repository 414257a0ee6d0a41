"""The SQLite schema: one table per kind of thing the SDKs send.

This dict is the single source of truth: the writer inserts by these column
lists, and docs/schema.md describes them for people opening the file with
sqlite-utils or Datasette. JSON columns hold TEXT; raw payloads are BLOBs.
Every row but `traces` and `rejections` names the envelope it came from.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils

USER = {"user_id": str, "user_email": str, "user_username": str, "user_ip": str}
SDK = {"sdk_name": str, "sdk_version": str}
RELEASE = {"environment": str, "release": str}

TABLES: dict[str, dict] = {
    "envelopes": {
        "columns": {
            "id": int,
            "received_at": float,
            "endpoint": str,
            "project_id": str,
            "public_key": str,
            "event_id": str,
            **SDK,
            "content_encoding": str,
            "item_count": int,
            "item_types": str,
            "headers": str,
            "body": bytes,
            "body_encoding": str,
            # What the envelope brought, as live-feed entries (ingest/news.py).
            "news": str,
        },
        "pk": "id",
        "indexes": [["received_at"]],
    },
    "spans": {
        "columns": {
            "trace_id": str,
            "span_id": str,
            "parent_span_id": str,
            "segment_id": str,
            "is_segment": int,
            "op": str,
            "description": str,
            "start_timestamp": float,
            "timestamp": float,
            "status": str,
            "project_id": str,
            **SDK,
            "platform": str,
            **RELEASE,
            **USER,
            "tags": str,
            "data": str,
            "origin": str,
            "event_id": str,
            "dsc": str,
            "envelope_id": int,
        },
        # Not a table: a view of `span_packs` (SPAN_TABLES, span_packs.py).
        # These are the columns of its rows, and of the span rows the writer is sent.
        "view": True,
    },
    "transactions": {
        "columns": {
            "event_id": str,
            "trace_id": str,
            "span_id": str,
            "name": str,
            "op": str,
            "start_timestamp": float,
            "timestamp": float,
            "project_id": str,
            "data": str,
            "envelope_id": int,
        },
        "pk": "event_id",
    },
    "events": {
        "columns": {
            "event_id": str,
            "trace_id": str,
            "span_id": str,
            "level": str,
            "exception_type": str,
            "exception_value": str,
            "message": str,
            "fingerprint": str,
            "title": str,
            "transaction_name": str,
            "culprit": str,
            "timestamp": float,
            "project_id": str,
            "platform": str,
            **RELEASE,
            **SDK,
            **USER,
            "data": str,
            "envelope_id": int,
        },
        "pk": "event_id",
        "indexes": [["trace_id"], ["timestamp"], ["user_id"], ["user_email"], ["fingerprint", "timestamp"]],
    },
    "logs": {
        "columns": {
            "trace_id": str,
            "span_id": str,
            "timestamp": float,
            "level": str,
            "severity_number": int,
            "body": str,
            "attributes": str,
            **SDK,
            **RELEASE,
            "project_id": str,
            "envelope_id": int,
        },
        # timestamp: the logs list walks it newest first (one index write per log row).
        "indexes": [["trace_id"], ["timestamp"]],
    },
    "sessions": {
        "columns": {
            "kind": str,
            "sid": str,
            "did": str,
            "status": str,
            "errors": int,
            "started": float,
            "timestamp": float,
            **RELEASE,
            "project_id": str,
            "data": str,
            "envelope_id": int,
        },
        # sid: a session's page reads its updates (a scan of 100k rows otherwise).
        "indexes": [["did"], ["sid"]],
    },
    "replays": {
        "columns": {
            "replay_id": str,
            "segment_id": int,
            "timestamp": float,
            "trace_ids": str,
            "urls": str,
            "project_id": str,
            "platform": str,
            **RELEASE,
            **SDK,
            **USER,
            "data": str,
            "envelope_id": int,
        },
        "indexes": [["replay_id"]],
    },
    "replay_recordings": {
        "columns": {
            "replay_id": str,
            "segment_id": int,
            "kind": str,
            "size": int,
            "payload": bytes,
            "envelope_id": int,
        },
        "indexes": [["replay_id"]],
    },
    "feedback": {
        "columns": {
            "kind": str,
            "event_id": str,
            "associated_event_id": str,
            "trace_id": str,
            "name": str,
            "email": str,
            "message": str,
            "timestamp": float,
            "project_id": str,
            "data": str,
            "envelope_id": int,
        },
        # trace_id: retention deletes a trace's feedback with it.
        "indexes": [["event_id"], ["trace_id"]],
    },
    "attachments": {
        "columns": {
            "event_id": str,
            "filename": str,
            "content_type": str,
            "attachment_type": str,
            "size": int,
            "payload": bytes,
            "envelope_id": int,
        },
        "indexes": [["event_id"]],
    },
    "client_reports": {
        "columns": {
            "timestamp": float,
            "kind": str,
            "reason": str,
            "category": str,
            "quantity": int,
            "sdk_name": str,
            "project_id": str,
            "envelope_id": int,
        },
    },
    "other_items": {
        "columns": {
            "type": str,
            "content_type": str,
            "size": int,
            "payload": bytes,
            "project_id": str,
            "envelope_id": int,
        },
    },
    "item_failures": {
        "columns": {
            "item_index": int,
            "item_type": str,
            "reason": str,
            "payload": bytes,
            "size": int,
            "envelope_id": int,
        },
    },
    # Envelopes waiting to be forwarded (`serve --forward`), one row per
    # envelope and destination, written in the same transaction as the
    # envelope's rows and deleted once the destination took them: a restart
    # or an outage loses none. `body` is what is sent (zlib when
    # `body_encoding` says so); `categories` the rate-limit categories of its
    # items, comma-wrapped (",error,attachment,") to match one with LIKE.
    "outbox": {
        "columns": {
            "id": int,
            "destination": str,
            "received_at": float,
            "categories": str,
            "size": int,
            "body": bytes,
            "body_encoding": str,
            "envelope_id": int,
        },
        "pk": "id",
        "indexes": [["destination"]],
    },
    # Requests answered 4xx: why, so a developer can see what their SDK got wrong.
    "rejections": {
        "columns": {"received_at": float, "endpoint": str, "status": int, "reason": str, "user_agent": str},
    },
    # Rows per table (`rows:spans`) and envelopes per content encoding
    # (`encoding:gzip`), kept by the writer in the same transaction as the
    # rows, so /api/stats never counts a million spans.
    "counters": {"columns": {"name": str, "value": int}, "pk": "name"},
    # One summary row per trace, kept up to date by the writer, so that the
    # trace list never has to scan spans.
    "traces": {
        "columns": {
            "trace_id": str,
            "start_timestamp": float,
            "end_timestamp": float,
            "root_name": str,
            "root_op": str,
            "root_is_parentless": int,
            "root_start_timestamp": float,
            "span_count": int,
            "error_count": int,
            "sdks": str,
            "users": str,
            "environments": str,
            "releases": str,
            "last_seen": float,
        },
        "pk": "trace_id",
        # The list walks start_timestamp; root_name rides along so the
        # count of hidden health checks reads the index alone (queries.count_noise).
        "indexes": [["start_timestamp", "root_name"], ["last_seen"]],
    },
}


# Where spans are stored (span_packs.py): the spans sharing a segment's
# labels in one row, their own values packed as JSON in `spans`; each pack's
# span ids in `span_ids` (`pack` = `span_packs.id`), for the jump box.
SPAN_TABLES: dict[str, dict] = {
    "span_packs": {
        "columns": {
            "id": int,
            "trace_id": str,
            "segment_id": str,
            # The pack's lead span: its segment when it holds one, else its first span.
            "is_segment": int,
            "span_id": str,
            "event_id": str,
            "start_timestamp": float,
            "timestamp": float,
            "span_count": int,
            "project_id": str,
            **SDK,
            "platform": str,
            **RELEASE,
            **USER,
            "envelope_id": int,
            "spans": str,
        },
        "pk": "id",
        # One index entry per pack, not per span. Users and span ids are
        # looked up by segment (child spans repeat their segment's user).
        "indexes": [["trace_id", "start_timestamp"]],
        "partial_indexes": [
            (["user_id"], "is_segment = 1"),
            (["user_email"], "is_segment = 1"),
            (["span_id"], "is_segment = 1"),
        ],
    },
    "span_ids": {"columns": {"pack": int, "span_ids": str}, "pk": "pack"},
}

# Indexes older files have and this version no longer keeps: no query used
# them, and each cost ingest a random B-tree insert per envelope or span;
# or (the last) another index now does their work.
DROPPED_INDEXES = [
    "idx_spans_span_id",
    "idx_envelopes_event_id",
    "idx_transactions_trace_id",
    "idx_traces_start_timestamp",
]


def columns(table: str) -> list[str]:
    return list(TABLES[table]["columns"])


# How a commit reaches the disk. "normal": a 200 survives the collector's
# process being killed, not a power cut or an OS crash (one fsync per
# checkpoint instead of one per commit). "full": it survives both, at the
# cost of an fsync per commit (see README for what `make bench` measured).
DURABILITY = {"normal": "NORMAL", "full": "FULL"}


def connect(path: str, *, readonly: bool = False, durability: str = "normal") -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # WAL lets readers run beside the single writer.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={DURABILITY[durability]}")
        # Index pages stay in memory instead of being re-read for each insert.
        conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def create(conn: sqlite3.Connection) -> None:
    """Create what is missing: tables, indexes, and columns added since the
    file was made, so an older database keeps working after an upgrade."""
    use_incremental_vacuum(conn)
    db = sqlite_utils.Database(conn)
    # A file of the older layout keeps its span rows aside until the writer
    # has packed them (migrate_spans.py); `spans` becomes the view.
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'spans'").fetchone():
        conn.execute("ALTER TABLE spans RENAME TO spans_old_layout")
    for name, spec in {**TABLES, **SPAN_TABLES}.items():
        if spec.get("view"):
            continue
        table = db[name]
        if table.exists():
            for column, kind in spec["columns"].items():
                if column not in table.columns_dict:
                    table.add_column(column, kind)
        else:
            table.create(spec["columns"], pk=spec.get("pk"))
        for index in spec.get("indexes", ()):
            table.create_index(index, if_not_exists=True)
        for index, where in spec.get("partial_indexes", ()):
            name = f"idx_{table.name}_{'_'.join(index)}_segments"
            conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table.name} ({', '.join(index)}) WHERE {where}")
    for name in DROPPED_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    # Imported here: span_packs reads this module's column lists.
    from . import span_packs

    # Made anew at every start, so a file gets this version's view and trigger.
    for kind, name in (("trigger", "spans_insert"), ("view", "spans")):
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?", (kind, name)).fetchone():
            conn.execute(f"DROP {kind.upper()} {name}")
    for sql in span_packs.view_sql():
        conn.execute(sql)


# An older file without auto_vacuum is converted by a full VACUUM at start
# when it is this small (well under a second); a larger one keeps working
# (retention reuses its free pages, so it stops growing, but never shrinks)
# until `collector purge --vacuum` converts it.
VACUUM_AT_START_BYTES = 64 * 1024 * 1024


def use_incremental_vacuum(conn: sqlite3.Connection) -> None:
    """auto_vacuum=INCREMENTAL, so deleted rows' pages can be given back
    (`PRAGMA incremental_vacuum`). It takes effect only before the first
    table is created, or through a VACUUM that rewrites the file."""
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2:
        return
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    if conn.execute("PRAGMA page_count").fetchone()[0] * page_size <= VACUUM_AT_START_BYTES:
        conn.execute("VACUUM")
