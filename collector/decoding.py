"""Request bodies: Content-Encoding, decoded with a hard ceiling on output.

The server reads the compressed body itself (aiohttp's automatic
decompression is switched off, so nothing is inflated twice or unbounded),
then inflates it here in steps that never produce more than the limit: a
bomb stops at the limit instead of filling memory.
"""

from __future__ import annotations

import io
import zlib

import brotli
import zstandard

CHUNK = 256 * 1024


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"decompressed body exceeds {limit} bytes")
        self.limit = limit


class DecodeError(ValueError):
    """The body does not decode under its declared Content-Encoding."""


def normalise_encoding(value: str | None) -> str:
    """The encoding to apply, or "" for none.

    Rule: an unknown value, an empty value and the bogus `UTF-8` some old SDKs
    send all mean no encoding, as in Relay.
    """
    label = (value or "").strip().lower()
    if label == "x-gzip":
        return "gzip"
    return label if label in ("gzip", "deflate", "br", "zstd") else ""


def _inflate_zlib(body: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    # One bounded call: asking for limit + 1 bytes tells "fits" from "too big"
    # without ever holding more than that.
    out = d.decompress(body, limit + 1)
    if len(out) > limit:
        raise BodyTooLarge(limit)
    if not d.eof:
        raise DecodeError("truncated compressed stream")
    return out


def _looks_like_zlib(body: bytes) -> bool:
    # RFC 1950: CM=8 in the low nibble, and the two header bytes are a
    # multiple of 31. Browsers and some servers send raw deflate instead.
    return len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0


def _inflate_brotli(body: bytes, limit: int) -> bytes:
    d = brotli.Decompressor()
    out = bytearray()
    view = memoryview(body)
    pos = 0
    while True:
        if d.can_accept_more_data():
            if pos >= len(body):
                break
            chunk, pos = view[pos : pos + CHUNK], pos + CHUNK
        else:
            chunk = b""
        out += d.process(chunk, output_buffer_limit=CHUNK)
        if len(out) > limit:
            raise BodyTooLarge(limit)
        if d.is_finished():
            break
    if not d.is_finished():
        raise DecodeError("truncated brotli stream")
    return bytes(out)


def _inflate_zstd(body: bytes, limit: int) -> bytes:
    out = bytearray()
    # stream_reader pulls output a chunk at a time, so a frame that claims a
    # huge size is never allocated up front.
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True) as reader:
        while chunk := reader.read(CHUNK):
            out += chunk
            if len(out) > limit:
                raise BodyTooLarge(limit)
    return bytes(out)


def decode(body: bytes, encoding: str, limit: int) -> bytes:
    """Decode `body` per its (normalised) encoding, at most `limit` bytes out."""
    try:
        if encoding == "gzip":
            return _inflate_zlib(body, 16 + zlib.MAX_WBITS, limit)
        if encoding == "deflate":
            wbits = zlib.MAX_WBITS if _looks_like_zlib(body) else -zlib.MAX_WBITS
            return _inflate_zlib(body, wbits, limit)
        if encoding == "br":
            return _inflate_brotli(body, limit)
        if encoding == "zstd":
            return _inflate_zstd(body, limit)
    except (zlib.error, brotli.error, zstandard.ZstdError) as e:
        raise DecodeError(f"body is not valid {encoding}: {e}") from None
    if len(body) > limit:
        raise BodyTooLarge(limit)
    return body
