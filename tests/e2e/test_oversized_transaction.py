"""A 2.6 MB transaction from the real sentry-sdk: over Sentry's 1 MiB limit,
within the collector's own. It is stored, the jump box finds its trace, and
the trace page, /doctor and /dropped say that Sentry would drop it and why."""

import json
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "apps" / "big_transaction.py"


def test_an_oversized_sdk_transaction_is_visible_with_its_finding(collector, page):
    out = subprocess.run([sys.executable, str(APP), collector.dsn], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    sent = json.loads(out.stdout)
    trace_id, [size] = sent["trace_id"], sent["sizes"]
    assert 2_500_000 < size < 2_700_000

    collector.wait_for(lambda s: s["rows"]["transactions"] >= 1)
    trace = collector.get(f"/api/traces/{trace_id}")
    assert trace["span_count"] == 1001

    [flag] = [
        f for f in collector.get(f"/api/doctor?trace_id={trace_id}")["findings"] if f["kind"] == "over_sentry_limit"
    ]
    assert flag["trace_id"] == trace_id and flag["evidence"]["size"] == size
    assert "the transaction is 2.6 MB; Sentry drops transaction items over 1 MiB" in flag["detail"]

    [noted] = collector.get("/api/dropped")["failed_items"]
    assert noted["reason"].startswith("over Sentry's limit (stored anyway)") and noted["trace_id"] == trace_id

    # The jump box takes the pasted trace id to the trace page, whose doctor panel says why Sentry would drop it.
    page.goto(collector.url + "/traces")
    page.fill("form.jump input[name=q]", trace_id)
    page.press("form.jump input[name=q]", "Enter")
    page.wait_for_url(f"**/traces/{trace_id}*")
    finding = page.locator('[data-kind="over_sentry_limit"]')
    finding.wait_for()
    assert "Sentry drops transaction items over 1 MiB" in finding.inner_text()
    assert "fewer spans" in finding.inner_text()
    assert page.errors == []

    page.goto(collector.url + "/dropped")
    row = page.locator("tr.failed-item").first
    assert trace_id[:8] in row.inner_text() and f"{size:,}" in row.inner_text()
