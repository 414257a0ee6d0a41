"""What the trace page's details pane shows beyond a row, read on demand:
a large trace's page embeds only its rows (see trace_compact), and asks
for one span's tags and attributes when its pane opens, or for all of
them when a search looks into them."""

from __future__ import annotations

from .queries import dicts, trace_rows
from .trace_compact import details
from .traces import span_view


def span_details(conn, trace_id: str, span_id: str | None, limit: int, offset: int) -> dict | None:
    """{span id: details} for one span of the trace, or for the page of its
    spans the trace page shows (the same ?limit= and ?offset=); None when
    no such trace is stored."""
    if span_id is None:
        rows = trace_rows(conn, trace_id, limit, offset)
        return None if rows is None else details([span_view(r) for r in rows["spans"]])
    # The (trace_id, start_timestamp) index narrows the scan to this trace's spans.
    found = dicts(conn.execute("SELECT * FROM spans WHERE trace_id = ? AND span_id = ? LIMIT 1", (trace_id, span_id)))
    if not found and trace_rows(conn, trace_id, 1, 0) is None:
        return None
    return details([span_view(r) for r in found])
