"""Typed keys for what the application object carries."""

from aiohttp import web

from ..read.noise import Noise
from ..storage.client import Writer
from ..storage.reader import Reader

WRITER = web.AppKey("writer", Writer)
READER = web.AppKey("reader", Reader)
# Counters kept in memory by ingest (e.g. 429s, which are not worth a write).
INGEST_STATS = web.AppKey("ingest_stats", dict)
# What the lists, the live feed and `collector tail` hide by default.
NOISE = web.AppKey("noise", Noise)
