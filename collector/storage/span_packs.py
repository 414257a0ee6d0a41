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
per row. Pure, but for `insert`: the packing the server does (and the
migration of an older file), and the unpacking readers do.
"""

from __future__ import annotations

import json
import operator

import orjson

from . import schema

# The logical span columns (the view's, and those of the span rows normalize makes).
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
assert PACKED[0] == "span_id"  # id_line reads it there
# A pack's lead span (its segment when it holds one, else its first span)
# lends the pack these columns, so segments are found by index.
LEAD = ["is_segment", "span_id", "event_id", "start_timestamp", "timestamp"]
PACK_COLUMNS = ["id", *SHARED[:2], *LEAD, "span_count", *SHARED[2:], "spans"]

# Index of span_count in a pack as `from_dicts` and `from_rows` make it.
COUNT = 2 + len(LEAD)
# The server knows every shared value but the envelope's id, which the writer gives.
SENT_SHARED = SHARED[:-1]

INSERT_PACK = f"INSERT INTO span_packs ({', '.join(PACK_COLUMNS)}) VALUES ({', '.join('?' * len(PACK_COLUMNS))})"
INSERT_IDS = "INSERT INTO span_ids (pack, span_ids) VALUES (?, ?)"


def _missing_as_none(names: list[str]):
    return lambda row: tuple(map(row.get, names))


def _at(names: list[str]):
    return operator.itemgetter(*(COLUMNS.index(c) for c in names))


_lead = operator.itemgetter(*(PACKED.index(c) for c in LEAD))
_first = operator.itemgetter(0)


def _packs(rows, shared, packed, is_segment) -> list[tuple]:
    """Spans sharing the `shared` values go into one pack, in the order they
    came; a second segment starts a new pack. Each pack as
    (*shared[:2], *LEAD, span_count, *shared[2:], spans JSON, id line)."""
    keys = list(map(shared, rows))
    segments = list(map(is_segment, rows))
    if keys and keys.count(keys[0]) == len(keys) and segments.count(1) <= 1:
        # A transaction's spans, nearly always: one pack, made by C loops
        # alone (the server packs every transaction on its event loop).
        first_segment = segments.index(1) if 1 in segments else None
        groups = [(keys[0], first_segment, list(map(packed, rows)))]
    else:
        groups = _grouped(rows, keys, segments, packed)
    return [
        (*key[:2], *_lead(spans[segment or 0]), len(spans), *key[2:], orjson.dumps(spans).decode(), id_line(spans))
        for key, segment, spans in groups
    ]


def _grouped(rows, keys: list[tuple], segments: list, packed) -> list[tuple]:
    packs: dict[tuple, list] = {}
    done: list[tuple] = []
    for row, key, is_segment in zip(rows, keys, segments, strict=True):
        current = packs.get(key)
        segment = is_segment == 1
        if current is None or (segment and current[1] is not None):
            if current is not None:
                done.append(current)
            current = packs[key] = [key, None, []]
        if segment and current[1] is None:
            current[1] = len(current[2])
        current[2].append(packed(row))
    return done + list(packs.values())


# How _packs reads each kind of row: its shared values, its own, whether it
# is a segment. A row holding every column is read by one C call; one
# lacking some (a column left out means NULL) by a lookup per column.
_FROM_DICTS = (operator.itemgetter(*SENT_SHARED), operator.itemgetter(*PACKED), operator.itemgetter("is_segment"))
_FROM_SPARSE_DICTS = (
    _missing_as_none(SENT_SHARED),
    _missing_as_none(PACKED),
    operator.methodcaller("get", "is_segment"),
)
_FROM_ROWS = (_at(SHARED), _at(PACKED), operator.itemgetter(COLUMNS.index("is_segment")))


def from_dicts(rows: list[dict]) -> list[tuple]:
    """The server's side: a batch's span rows as packs, without the envelope
    id (`with_envelope` adds it). Packing here rather than in the writer
    sends one tuple and one JSON text per segment instead of a tuple per
    span: half the time to pickle and unpickle, and the writer, which all
    of `--workers`' servers share, does less (measured under wrk with
    20-span transactions: writer -16% CPU per envelope, server +4%)."""
    try:
        return _packs(rows, *_FROM_DICTS)
    except KeyError:
        return _packs(rows, *_FROM_SPARSE_DICTS)


def from_rows(rows: list[tuple]) -> list[tuple]:
    """Packs of span rows in schema column order, envelope id included (last)."""
    return _packs(rows, *_FROM_ROWS)


def with_envelope(pack: tuple, envelope_id: int) -> tuple:
    """A pack from `from_dicts` with its envelope's id, as `from_rows` makes it."""
    return (*pack[:-2], envelope_id, *pack[-2:])


def numbered(packs: list[tuple], first_id: int) -> tuple[list[tuple], list[tuple]]:
    """`span_packs` and `span_ids` rows of packs, ids from `first_id` on."""
    pack_rows = [(n, *p[:-1]) for n, p in enumerate(packs, start=first_id)]
    id_rows = [(n, p[-1]) for n, p in enumerate(packs, start=first_id)]
    return pack_rows, id_rows


def insert(conn, packs: list[tuple]) -> int:
    """Writes packs (as `from_rows` makes them) numbered after the file's
    last, in the caller's transaction; how many."""
    first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM span_packs").fetchone()[0]
    pack_rows, id_rows = numbered(packs, first)
    conn.executemany(INSERT_PACK, pack_rows)
    conn.executemany(INSERT_IDS, id_rows)
    return len(packs)


def id_line(spans: list[tuple]) -> str:
    """The span ids of packed spans as `span_ids` holds them: each between
    spaces, so that `instr(span_ids, ' ' || id || ' ')` matches whole ids only."""
    return " " + " ".join([i if i.__class__ is str else str(i) for i in map(_first, spans)]) + " "


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
    # Each row starts as a copy of one dict holding every column in order,
    # the shared values set: a copy and an update of existing keys keep that
    # order and cost half what building each row from its values did (the
    # 10,000-span trace page unpacks 10,000). A short array leaves the rest
    # None; a long one is cut at the columns.
    template = dict.fromkeys(COLUMNS)
    template.update(zip(SHARED, shared, strict=True))
    rows = []
    for s in packed:
        if s.__class__ is not list:
            continue
        row = template.copy()
        row.update(zip(PACKED, s, strict=False))
        rows.append(row)
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
