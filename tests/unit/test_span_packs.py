"""Spans stored as packs: what goes in comes out of the `spans` view and the
readers unchanged, an older file is packed at start, child span ids are found."""

import sqlite3

import orjson

from collector.read import queries
from collector.storage import schema, span_packs
from collector.storage.store import Store

COLUMNS = span_packs.COLUMNS
TRACE = "a" * 32


def span(span_id: str, parent: str | None, start: float, **values) -> tuple:
    row = {
        "trace_id": TRACE,
        "span_id": span_id,
        "parent_span_id": parent,
        "segment_id": "1" * 16,
        "is_segment": 0,
        "op": "db",
        "description": f"SELECT {span_id}",
        "start_timestamp": start,
        "timestamp": start + 0.001234567,
        "status": "ok",
        "project_id": "1",
        "sdk_name": "sentry.python",
        "user_id": "42",
        "data": '{"db.system": "sqlite"}',
        "origin": "transaction",
        "envelope_id": 7,
        **values,
    }
    return tuple(row.get(c) for c in COLUMNS)


# A segment and two children sharing its labels; a second segment of the
# same labels; a child whose user differs.
ROWS = [
    span("1" * 16, None, 1_700_000_000.123456, is_segment=1, event_id="e" * 32, dsc='{"sampled": "true"}'),
    span("2" * 16, "1" * 16, 1_700_000_000.2),
    span("3" * 16, "1" * 16, 1_700_000_000.1),
    span("4" * 16, None, 1_700_000_001.5, is_segment=1),
    span("5" * 16, "4" * 16, 1_700_000_001.6, user_id="43"),
]


def stored(tmp_path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "p.db", isolation_level=None)
    schema.create(conn)
    packs, ids = span_packs.numbered(span_packs.from_rows(ROWS), 1)
    conn.executemany(span_packs.INSERT_PACK, packs)
    conn.executemany(span_packs.INSERT_IDS, ids)
    return conn


def test_spans_sharing_labels_share_a_pack_and_each_segment_leads_one():
    packs, ids = span_packs.numbered(span_packs.from_rows(ROWS), 10)
    assert [(p[0], p[3], p[4], p[8]) for p in packs] == [
        (10, 1, "1" * 16, 3),
        (11, 1, "4" * 16, 1),
        (12, 0, "5" * 16, 1),
    ]
    assert ids[0] == (10, f" {'1' * 16} {'2' * 16} {'3' * 16} ")


def test_the_view_and_the_reader_give_back_every_span_as_it_was(tmp_path):
    conn = stored(tmp_path)
    expected = {row[1]: dict(zip(COLUMNS, row, strict=True)) for row in ROWS}
    view = queries.dicts(conn.execute("SELECT * FROM spans WHERE trace_id = ?", (TRACE,)))
    assert {row["span_id"]: row for row in view} == expected
    assert {row["span_id"]: row for row in queries.trace_spans(conn, TRACE)} == expected
    # Timestamps keep every digit, through JSON and back.
    assert view[0]["start_timestamp"] == 1_700_000_000.123456


def test_unpacking_gives_rows_in_column_order_and_reads_what_another_program_wrote_badly():
    shared = tuple(f"shared {c}" for c in span_packs.SHARED)
    width = len(span_packs.PACKED)
    short, long = ["a" * 16, "b" * 16], ["c" * 16, *range(width)]
    rows = span_packs.unpack(shared, orjson.dumps([short, "not a span", {"span_id": "x"}, long]).decode())
    assert [list(r) for r in rows] == [COLUMNS, COLUMNS]
    assert rows[0]["span_id"] == "a" * 16 and rows[0]["parent_span_id"] == "b" * 16
    # What a short array lacks is NULL; what a long one holds past the columns is dropped.
    assert all(rows[0][c] is None for c in span_packs.PACKED[2:])
    assert [rows[1][c] for c in span_packs.PACKED] == long[:width]
    assert all(r[c] == f"shared {c}" for r in rows for c in span_packs.SHARED)


def test_a_trace_page_is_in_start_order_and_pages(tmp_path):
    conn = stored(tmp_path)
    conn.execute("INSERT INTO traces (trace_id, span_count) VALUES (?, ?)", (TRACE, len(ROWS)))
    conn.row_factory = sqlite3.Row  # as reader connections read
    first = queries.trace_rows(conn, TRACE, limit=2)
    # The child that starts before its segment comes first, as SQL's ORDER BY put it.
    assert [s["span_id"] for s in first["spans"]] == ["3" * 16, "1" * 16] and first["next_offset"] == 2
    rest = queries.trace_rows(conn, TRACE, limit=10, offset=2)
    assert [s["span_id"] for s in rest["spans"]] == ["2" * 16, "4" * 16, "5" * 16] and rest["next_offset"] is None


def test_the_jump_box_finds_segments_and_child_spans(tmp_path):
    conn = stored(tmp_path)
    assert queries.find_id(conn, "4" * 16) == ("span", (TRACE, "4" * 16))
    assert queries.find_id(conn, "3" * 16) == ("span", (TRACE, "3" * 16))
    assert queries.find_id(conn, "3" * 15) is None  # whole ids only


def test_a_row_inserted_into_the_view_is_kept_whatever_its_values(tmp_path):
    conn = stored(tmp_path)
    columns = ", ".join(COLUMNS)
    row = span("6" * 16, "1" * 16, 1_700_000_002.987654, op=b"\xff\x00", description=5)
    conn.execute(f"INSERT INTO spans ({columns}) VALUES ({', '.join('?' * len(COLUMNS))})", row)
    [got] = queries.dicts(conn.execute("SELECT * FROM spans WHERE span_id = ?", ("6" * 16,)))
    # Bytes JSON cannot hold are kept as their hex; numbers keep their type and digits.
    assert got == {**dict(zip(COLUMNS, row, strict=True)), "op": "FF00"}
    assert queries.find_id(conn, "6" * 16) == ("span", (TRACE, "6" * 16))


def test_an_infinite_time_inserted_into_the_view_does_not_break_it_for_every_other_row(tmp_path):
    conn = stored(tmp_path)
    before = conn.execute("SELECT count(*) FROM spans").fetchone()[0]
    columns = ", ".join(COLUMNS)
    row = span("7" * 16, "1" * 16, float("inf"))
    conn.execute(f"INSERT INTO spans ({columns}) VALUES ({', '.join('?' * len(COLUMNS))})", row)
    assert conn.execute("SELECT count(*) FROM spans").fetchone()[0] == before + 1
    [got] = queries.dicts(conn.execute("SELECT start_timestamp FROM spans WHERE span_id = ?", ("7" * 16,)))
    assert got["start_timestamp"] == "Inf"


def test_an_older_file_is_packed_when_the_writer_opens_it(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute(f"CREATE TABLE spans ({', '.join(COLUMNS)})")
        old.execute("CREATE INDEX idx_spans_trace_id_start_timestamp ON spans (trace_id, start_timestamp)")
        old.executemany(f"INSERT INTO spans VALUES ({', '.join('?' * len(COLUMNS))})", ROWS)
        old.execute("UPDATE spans SET tags = ? WHERE span_id = ?", (b"\x01", "5" * 16))
    store = Store(str(path))
    store.close()
    conn = sqlite3.connect(path)
    kinds = dict(conn.execute("SELECT name, type FROM sqlite_master WHERE name LIKE 'span%'"))
    assert kinds["spans"] == "view" and "spans_old_layout" not in kinds
    assert conn.execute("SELECT count(*) FROM span_packs").fetchone() == (3,)
    view = {row["span_id"]: row for row in queries.dicts(conn.execute("SELECT * FROM spans"))}
    assert view == {row[1]: dict(zip(COLUMNS, row, strict=True)) for row in ROWS} | {
        "5" * 16: {**dict(zip(COLUMNS, ROWS[4], strict=True)), "tags": "01"}
    }
    counters = dict(conn.execute("SELECT name, value FROM counters"))
    assert counters["rows:spans"] == len(ROWS) and counters["rows:span_packs"] == 3
