"""The list pages' live hooks: each page names the feed kinds it follows,
only where new rows can appear, and serves its list alone (?fragment=list)
from the same partial, rows keyed for live.js to merge."""

from __future__ import annotations

import re

import pytest
from test_logs_list import log_envelope, log_record
from test_noise_lists import transaction

from helpers import envelope, event_item, post


async def page_text(client, path: str) -> str:
    r = await client.get(path)
    assert r.status == 200, await r.text()
    return await r.text()


@pytest.mark.parametrize(
    ("path", "kinds"),
    [("/traces", "segment"), ("/errors", "error"), ("/logs", "log"), ("/users", "segment,error,session")],
)
async def test_each_list_page_follows_its_kinds_even_when_empty(client, path, kinds):
    page = await page_text(client, path)
    assert f'id="live-bar" data-kinds="{kinds}"' in page
    assert 'id="live-list"' in page and "/static/live.js" in page


async def test_a_later_page_is_not_live(client):
    assert 'id="live-bar"' not in await page_text(client, "/traces?page=2")
    assert 'id="live-bar"' not in await page_text(client, "/logs?page=2")


async def test_the_feed_follows_the_noise_toggle(client):
    assert 'data-feed-query=""' in await page_text(client, "/traces")
    assert 'data-feed-query="noise=1"' in await page_text(client, "/traces?noise=1")


async def test_fragments_are_the_lists_alone_with_keyed_rows(client):
    await post(client, transaction("GET /checkout"))
    await post(client, envelope(event_item("<b>boom</b>", user={"email": "ada@example.com"})))
    await post(client, log_envelope([log_record("<i>logged</i>")]))
    for path, key in (
        ("/traces", r"[0-9a-f]{32}"),
        ("/errors", r"[^\"]+"),
        ("/logs", r"\d+"),
        ("/users", r"ada@example\.com"),
    ):
        fragment = await page_text(client, f"{path}?fragment=list")
        assert "<html" not in fragment and 'id="live-bar"' not in fragment, path
        assert re.search(rf'<tr[^>]* data-key="{key}">', fragment), (path, fragment)
    # Rendered by the server's autoescaped partials.
    assert "&lt;b&gt;boom&lt;/b&gt;" in await page_text(client, "/errors?fragment=list")
    assert "&lt;i&gt;logged&lt;/i&gt;" in await page_text(client, "/logs?fragment=list")
