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

from .refusals import BodyTooLarge, UndecodableBody

CHUNK = 256 * 1024


def normalize_encoding(value: str | None) -> str:
    """The encoding to apply, or "" for none.

    Rule: an unknown value, an empty value and the bogus `UTF-8` some old SDKs
    send all mean no encoding, as in Relay.
    """
    label = (value or "").strip().lower()
    if label == "x-gzip":
        return "gzip"
    return label if label in ("gzip", "deflate", "br", "zstd") else ""


def _zlib_chunks(body: bytes, wbits: int):
    d = zlib.decompressobj(wbits)
    data = body
    while not d.eof:
        chunk = d.decompress(data, CHUNK)
        data = d.unconsumed_tail
        if not chunk and not data:
            raise UndecodableBody("truncated compressed stream")
        yield chunk


def _looks_like_zlib(body: bytes) -> bool:
    # RFC 1950: CM=8 in the low nibble, and the two header bytes are a
    # multiple of 31. Browsers and some servers send raw deflate instead.
    return len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0


def _deflate_chunks(body: bytes):
    return _zlib_chunks(body, zlib.MAX_WBITS if _looks_like_zlib(body) else -zlib.MAX_WBITS)


def _brotli_chunks(body: bytes):
    d = brotli.Decompressor()
    view = memoryview(body)
    pos = 0
    while not d.is_finished():
        # Once all input is in, the decoder may still hold output (it then
        # accepts more data all the same): drain it; only a call that gives
        # nothing means the stream was cut short.
        chunk, pos = (view[pos : pos + CHUNK], pos + CHUNK) if d.can_accept_more_data() else (b"", pos)
        out = d.process(chunk, output_buffer_limit=CHUNK)
        if not out and not chunk and not d.is_finished():
            raise UndecodableBody("truncated brotli stream")
        yield out


def _zstd_chunks(body: bytes):
    # stream_reader pulls output a chunk at a time, so a frame that claims a
    # huge size is never allocated up front.
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True) as reader:
        while chunk := reader.read(CHUNK):
            yield chunk


# Each yields the decoded body in pieces of at most CHUNK bytes.
_CHUNKS = {
    "gzip": lambda body: _zlib_chunks(body, 16 + zlib.MAX_WBITS),
    "deflate": _deflate_chunks,
    "br": _brotli_chunks,
    "zstd": _zstd_chunks,
}


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"decompressed body exceeds {limit} bytes")


class Decoder:
    """Decodes one body in steps, so that the caller can do the first part
    at once and hand the rest of a large (or hostile) body to another
    thread. Never holds more than `limit` bytes of output (plus one CHUNK)."""

    def __init__(self, body: bytes, encoding: str, limit: int):
        self._body = body
        self._encoding = encoding
        self._limit = limit
        self._chunks = _CHUNKS[encoding](body) if encoding else None
        self._parts: list[bytes] = []
        self._size = 0

    def run(self, until: int | None = None) -> bytes | None:
        """Decode on, until `until` bytes are out (or to the end when None):
        the whole decoded body once it is complete, else None."""
        if self._chunks is None:
            if len(self._body) > self._limit:
                raise _too_large(self._limit)
            return self._body
        try:
            for chunk in self._chunks:
                self._parts.append(chunk)
                self._size += len(chunk)
                # Rule: decoding stops at the limit; a bomb is refused, not inflated.
                if self._size > self._limit:
                    raise _too_large(self._limit)
                if until is not None and self._size >= until:
                    return None
        except (zlib.error, brotli.error, zstandard.ZstdError) as e:
            raise UndecodableBody(f"body is not valid {self._encoding}: {e}") from None
        return b"".join(self._parts)


def decode(body: bytes, encoding: str, limit: int) -> bytes:
    """Decode `body` per its (normalized) encoding, at most `limit` bytes out."""
    return Decoder(body, encoding, limit).run()
