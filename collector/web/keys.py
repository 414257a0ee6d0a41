"""Typed keys for what the application object carries."""

from aiohttp import web

from ..storage.client import Writer
from ..storage.reader import Reader

WRITER = web.AppKey("writer", Writer)
READER = web.AppKey("reader", Reader)
# Counters kept in memory by ingest (e.g. 429s, which are not worth a write).
INGEST_STATS = web.AppKey("ingest_stats", dict)
