"""A trace too large to embed its details, in Chromium: the details pane
fetches the span's tags and attributes when it opens, and a search by an
attribute finds its span once every span's details have arrived."""

import time

import helpers
from helpers import post_envelope

TRACE = "e8" * 16
T0 = time.time() - 60
SPANS = 1_500  # past trace_compact.EMBED_DETAILS_MAX


def span_id(i: int) -> str:
    return f"{i + 1:016x}"


def store_large_trace(collector) -> None:
    spans = [helpers.v2_span(TRACE, T0, span_id(0), None, "/checkout", "pageload", 0, 20, True)]
    for i in range(1, SPANS):
        attributes = {"http.url": f"https://app.example.com/chunk-{i}.js", "chunk.owner": f"team-{i}"}
        name, parent = f"chunk {i}", span_id(i // 10)
        spans.append(
            helpers.v2_span(TRACE, T0, span_id(i), parent, name, "resource.script", i / 1e3, 1, False, attributes)
        )
    header = {"sdk": {"name": "sentry.javascript.browser", "version": "11.12.0"}, "trace": {"trace_id": TRACE}}
    for first in range(0, SPANS, 500):
        chunk = spans[first : first + 500]
        item = {"type": "span", "item_count": len(chunk), "content_type": "application/vnd.sentry.items.span.v2+json"}
        post_envelope(collector, header, (item, {"version": 2, "items": chunk}))


def test_the_pane_and_the_search_fetch_what_the_page_left_out(collector, page):
    store_large_trace(collector)
    fetched = []
    page.on("request", lambda r: fetched.append(r.url) if "/details" in r.url else None)
    page.goto(f"{collector.url}/traces/{TRACE}")
    page.wait_for_selector("body[data-waterfall=ready]")
    assert fetched == []
    # The second row is span 1 (the first child); its attributes arrive when its pane opens.
    page.click(f"#span-{span_id(1)} .desc")
    page.wait_for_function("document.querySelector('#details').innerText.includes('team-1')")
    assert "https://app.example.com/chunk-1.js" in page.inner_text("#details")
    assert any(f"span_id={span_id(1)}" in url for url in fetched)

    # An attribute only the details hold: the count says it is still looking, then finds it.
    page.fill("#span-search", "chunk.owner:team-1234")
    page.wait_for_function("document.querySelector('#search-count').textContent === '1 match'")
    page.press("#span-search", "Enter")
    page.wait_for_selector(f"#span-{span_id(1234)}.current-match")
    # Text every row carries matches at once, without asking the server again.
    asked = len(fetched)
    page.fill("#span-search", 'op:resource.script description:"chunk 99"')
    assert page.inner_text("#search-count") == "11 matches" and len(fetched) == asked
    assert page.errors == []
