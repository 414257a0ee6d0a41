"""One trace page's work, run on a reader thread: the page of spans read and
assembled, the doctor's findings for it, the waterfall and its packed rows.

The 10,000-span page builds ~100,000 short-lived objects; done on the event
loop it held up every envelope arriving meanwhile, so the web layer runs
these functions off the loop (`READER.run`), each as one call.
"""

from __future__ import annotations

import contextlib
import gc
import threading

from . import doctor, replay_detail, trace_compact, traces
from .doctor import queries as doctor_queries
from .queries import trace_rows

_pauses = 0
_pauses_lock = threading.Lock()


@contextlib.contextmanager
def gc_paused():
    """The cyclic garbage collector held off while a page is built: its
    objects all live until the answer is sent, so each collection the
    allocations would trigger (a fifth of the build's CPU) finds nothing.
    Counted, so that pages built at once on several threads resume it once."""
    global _pauses
    with _pauses_lock:
        _pauses += 1
        gc.disable()
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if not _pauses:
                gc.enable()


def read_trace(conn, trace_id: str, limit: int, offset: int) -> dict | None:
    """A page of the trace assembled (traces.assemble), its replays and
    feedback, and `next_offset`; None when no such trace is stored."""
    with gc_paused():
        rows = trace_rows(conn, trace_id, limit, offset)
        if rows is None:
            return None
        return {
            "trace": traces.assemble(rows["trace_id"], rows),
            "next_offset": rows["next_offset"],
            # Replays and feedback are the trace's whatever page of spans is asked for.
            **replay_detail.trace_links(conn, rows["trace_id"]),
        }


def build_page(conn, assembled: dict) -> dict:
    """What the trace page renders of an assembled trace: the doctor's
    findings (its one code path, as /doctor and /api/doctor?trace_id=), the
    waterfall view and its rows packed as the page's script reads them."""
    with gc_paused():
        checked = doctor_queries.doctor_rows(conn, None, assembled["trace_id"], assembled)
        findings = doctor.diagnose(checked)["findings"]
        view = traces.waterfall(assembled, checked["requests"], findings)
        return {
            "view": view,
            "findings": findings,
            "trace_data": trace_compact.script_json(trace_compact.compact(view)),
        }
