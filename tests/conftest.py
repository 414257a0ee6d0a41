"""Fixtures: a real collector process on a free port, and a tiny API client."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import CHROMIUM, CHROMIUM_ARGS, Collector


@pytest.fixture
def make_client(aiohttp_client, tmp_path):
    """Starts the app in-process with create_app's options, for HTTP-level tests."""
    from aiohttp.test_utils import TestServer

    from collector.app import SERVER_ARGS, create_app

    async def make(**options):
        server = TestServer(create_app(str(tmp_path / "c.db"), **options))
        # As the CLI does: aiohttp must not inflate bodies itself.
        await server.start_server(**SERVER_ARGS)
        c = await aiohttp_client(server)
        c.db = tmp_path / "c.db"
        return c

    return make


@pytest.fixture
async def client(make_client):
    """The app in-process, as `collector serve` runs it."""
    return await make_client()


@pytest.fixture
def collector(tmp_path):
    c = Collector(tmp_path / "collector.db").start()
    yield c
    c.stop()


# --- a real browser ----------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: run `make test` (it installs Debian's chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


def pytest_collection_modifyitems(items):
    # Playwright's sync API keeps an event loop of its own on the main thread
    # for the whole session, which breaks pytest-asyncio's loops in any async
    # test run after it: run the browser tests last.
    items.sort(key=lambda item: "chromium" in getattr(item, "fixturenames", ()))
