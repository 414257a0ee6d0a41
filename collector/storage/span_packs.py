"""Spans as stored: packs of spans that share their labels, one row each.

A transaction's 20 child spans repeat their segment's trace, user, SDK,
release and environment. Writing them as 21 rows of 26 columns, each with
its index entry, was most of what the writer did per envelope; one
`span_packs` row per segment holds the same spans: the shared values once,
as columns, and each span's own values (PACKED) as one compact JSON array
in `spans`. `span_ids` keeps each pack's span ids as one line of text, so a
span id is found by scanning a narrow table rather than every span.

The `spans` view unpacks them as rows with the old columns (schema.py), for
SQL users; an INSTEAD OF INSERT trigger lets tools write into it, one pack
per row. Pure, but for `insert`: the packing the writer does and the
unpacking readers do.
"""

from __future__ import annotations

import json
import operator

import orjson

from . import schema

# The logical span columns (the view's, and the rows the writer is sent).
COLUMNS = schema.columns("spans")
# Values a pack's spans share: a span whose differ starts another pack.
SHARED = [
    "trace_id",
    "segment_id",
    "project_id",
    "sdk_name",
    "sdk_version",
    "platform",
    "environment",
    "release",
    "user_id",
    "user_email",
    "user_username",
    "user_ip",
    "envelope_id",
]
# Each span's own values, in the order of each array in `spans`.
PACKED = [c for c in COLUMNS if c not in SHARED]
# A pack's lead span (its segment when it holds one, else its first span)
# lends the pack these columns, so segments are found by index.
LEAD = ["is_segment", "span_id", "event_id", "start_timestamp", "timestamp"]
PACK_COLUMNS = ["id", *SHARED[:2], *LEAD, "span_count", *SHARED[2:], "spans"]

_shared = operator.itemgetter(*(COLUMNS.index(c) for c in SHARED))
_packed = operator.itemgetter(*(COLUMNS.index(c) for c in PACKED))
_lead = operator.itemgetter(*(PACKED.index(c) for c in LEAD))
_IS_SEGMENT = COLUMNS.index("is_segment")
# From (*shared, *packed) back to the columns in schema order.
_unpacked = operator.itemgetter(*((SHARED + PACKED).index(c) for c in COLUMNS))

INSERT_PACK = f"INSERT INTO span_packs ({', '.join(PACK_COLUMNS)}) VALUES ({', '.join('?' * len(PACK_COLUMNS))})"
INSERT_IDS = "INSERT INTO span_ids (pack, span_ids) VALUES (?, ?)"


def pack(rows: list[tuple], first_id: int) -> tuple[list[tuple], list[tuple]]:
    """`span_packs` and `span_ids` rows (ids from `first_id` on) of span rows
    in schema column order (envelope_id last). Spans sharing SHARED go into
    one pack, in the order they came; a second segment starts a new pack."""
    packs: dict[tuple, list] = {}
    done: list[tuple[tuple, list]] = []
    for row in rows:
        key = _shared(row)
        current = packs.get(key)
        if current is None or (row[_IS_SEGMENT] == 1 and current[0] is not None):
            if current is not None:
                done.append((key, current))
            current = packs[key] = [None, []]
        if row[_IS_SEGMENT] == 1 and current[0] is None:
            current[0] = len(current[1])
        current[1].append(_packed(row))
    done += packs.items()
    pack_rows, id_rows = [], []
    for n, (key, (segment, spans)) in enumerate(done, start=first_id):
        lead = _lead(spans[segment or 0])
        pack_rows.append((n, *key[:2], *lead, len(spans), *key[2:], orjson.dumps(spans).decode()))
        id_rows.append((n, id_line(s[0] for s in spans)))
    return pack_rows, id_rows


def insert(conn, rows: list[tuple]) -> int:
    """Writes `rows` (as `pack` takes them) as packs numbered after the
    file's last, in the caller's transaction; how many packs."""
    first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM span_packs").fetchone()[0]
    packs, ids = pack(rows, first)
    conn.executemany(INSERT_PACK, packs)
    conn.executemany(INSERT_IDS, ids)
    return len(packs)


def id_line(ids) -> str:
    """Span ids as `span_ids` holds them: each between spaces, so that
    `instr(span_ids, ' ' || id || ' ')` matches whole ids only."""
    return " " + " ".join(i if isinstance(i, str) else str(i) for i in ids) + " "


def unpack(shared: tuple, spans) -> list[dict]:
    """The span rows (dicts in schema column order) of one pack: its SHARED
    values and its `spans` text. Text another program wrote badly gives
    what can be read of it."""
    try:
        packed = orjson.loads(spans)
    except (orjson.JSONDecodeError, TypeError):
        packed = _lenient(spans)
    if not isinstance(packed, list):
        return []
    width = len(PACKED)
    rows = []
    for s in packed:
        if not isinstance(s, list):
            continue
        if len(s) != width:
            s = (s + [None] * width)[:width]
        rows.append(dict(zip(COLUMNS, _unpacked((*shared, *s)), strict=True)))
    return rows


def _lenient(spans):
    # SQLite writes an infinite REAL as 9.0e+999, which orjson refuses.
    try:
        return json.loads(spans)
    except (ValueError, TypeError):
        return None


# SQL: one pack's shared values then its spans, as `unpack` takes them.
SELECT_PACKS = f"SELECT {', '.join(SHARED)}, spans FROM span_packs"


def _json_value(column: str) -> str:
    # A REAL at full precision (json_array writes 15 digits); an infinite
    # one as its text (json_array would write `Inf`, which no JSON reader,
    # SQLite's own json_each included, takes: one such value would break
    # the view for every row); a BLOB as its hex (JSON holds no bytes);
    # anything else as it is.
    value = f"NEW.{column}"
    return (
        f"CASE WHEN typeof({value}) = 'real' AND abs({value}) <= 1.7976931348623157e308"
        f" THEN json(printf('%!.17g', {value})) WHEN typeof({value}) = 'real' THEN CAST({value} AS TEXT)"
        f" WHEN typeof({value}) = 'blob' THEN hex({value}) ELSE {value} END"
    )


def view_sql() -> list[str]:
    """The `spans` view, and the trigger that takes inserts into it."""
    picked = {c: f"p.{c}" for c in SHARED}
    picked |= {c: f"s.value ->> {i}" for i, c in enumerate(PACKED)}
    select = ", ".join(f"{picked[c]} AS {c}" for c in COLUMNS)
    lead_values = ", ".join(f"NEW.{c}" for c in LEAD)
    packed = ", ".join(_json_value(c) for c in PACKED)
    return [
        f"CREATE VIEW IF NOT EXISTS spans AS SELECT {select} FROM span_packs AS p, json_each(p.spans) AS s",
        "CREATE TRIGGER IF NOT EXISTS spans_insert INSTEAD OF INSERT ON spans BEGIN"
        f" INSERT INTO span_packs ({', '.join(PACK_COLUMNS[1:])}) VALUES"
        f" ({', '.join(f'NEW.{c}' for c in SHARED[:2])}, {lead_values}, 1,"
        f" {', '.join(f'NEW.{c}' for c in SHARED[2:])}, json_array(json_array({packed})));"
        " INSERT INTO span_ids (pack, span_ids) VALUES (last_insert_rowid(), ' ' || coalesce(NEW.span_id, '') || ' ');"
        " END",
    ]
