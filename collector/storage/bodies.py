"""Bodies as stored (`envelopes.body` with --keep-bodies, `outbox.body`):
zlib-compressed past a size when that makes them smaller, `body_encoding`
saying so. JSON shrinks 3-5x, and the bytes written per envelope are what
limits ingest (see make bench)."""

from __future__ import annotations

import zlib

COMPRESS_ABOVE = 512


def pack(body: bytes) -> tuple[bytes, str | None]:
    """The body as stored, and its body_encoding ("zlib" or None)."""
    if len(body) > COMPRESS_ABOVE:
        packed = zlib.compress(body, 1)
        if len(packed) < len(body):
            return packed, "zlib"
    return body, None


def unpack(body: bytes, encoding: str | None) -> bytes:
    return zlib.decompress(body) if encoding == "zlib" else body
