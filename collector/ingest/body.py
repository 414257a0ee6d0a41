"""Request bodies: read (bounded, timed), decoded (bounded), and the work that
grows with a body kept off the event loop when the body is large.

Every limit here is a refusal the SDK can read: `BodyTooLarge` (413) past a
size, `SlowBody` (408) past the time, `UndecodableBody` (400) for a body its
Content-Encoding does not describe.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from ..protocol import compression
from ..protocol.refusals import BodyTooLarge, SlowBody

MIB = 1024 * 1024
# Relay's defaults: the body as sent, and the envelope once decompressed.
MAX_COMPRESSED = 20 * MIB
MAX_DECOMPRESSED = 200 * MIB
# A client that trickles its body gets this long in total, then a 408.
BODY_TIMEOUT = 30.0
# Work that grows with the body runs on the event loop only up to these
# sizes: a body decodes inline up to 1 MiB of output, and is parsed and
# normalized inline up to 256 KiB (a 6 KB transaction never leaves the loop).
# Past that it continues on HEAVY.
INLINE_DECODE = 1 * MIB
INLINE_PARSE = 256 * 1024
# One thread for all large bodies: a stream of bombs or huge envelopes
# queues behind itself and takes one core, leaving the other to the loop and
# everyone else. zlib, brotli and zstd let go of the GIL while inflating;
# parsing does not, but the loop gets the GIL back every 5 ms.
HEAVY = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-heavy")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body as sent, chunked or not."""
    # Rule: a body past `limit` is refused as soon as that is known: from
    # Content-Length before reading, else while it arrives.
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(f"request body of {request.content_length} bytes exceeds the {limit}-byte limit")
    if request.content.is_eof():
        # The usual case: the whole body came in with the headers.
        body = request.content.read_nowait()
        if len(body) > limit:
            raise BodyTooLarge(f"request body exceeds the {limit}-byte limit")
        return body
    buf = bytearray()
    try:
        # Rule: the whole body within BODY_TIMEOUT, however it is chunked.
        async with asyncio.timeout(BODY_TIMEOUT):
            async for chunk in request.content.iter_any():
                buf += chunk
                if len(buf) > limit:
                    raise BodyTooLarge(f"request body exceeds the {limit}-byte limit")
    except TimeoutError:
        raise SlowBody(f"request body not received within {BODY_TIMEOUT:.0f}s") from None
    return bytes(buf)


async def decode_body(request: web.Request, raw: bytes) -> tuple[bytes, str]:
    """The decoded body and its encoding ("" for none): its first MiB
    inline, the rest (a large body or a bomb) on the HEAVY thread."""
    encoding = compression.normalize_encoding(request.headers.get("Content-Encoding"))
    decoder = compression.Decoder(raw, encoding, MAX_DECOMPRESSED)
    body = decoder.run(INLINE_DECODE)
    if body is None:
        body = await asyncio.get_running_loop().run_in_executor(HEAVY, decoder.run)
    return body, encoding


async def read_decoded(request: web.Request) -> tuple[bytes, str]:
    """The request's body read and decoded, within every limit above."""
    return await decode_body(request, await read_body(request, MAX_COMPRESSED))


async def offload(size: int, fn, *args):
    """fn(*args) for a body of `size` bytes: at once when small, on the
    HEAVY thread when large."""
    if size <= INLINE_PARSE:
        return fn(*args)
    return await asyncio.get_running_loop().run_in_executor(HEAVY, fn, *args)
