"""Each Content-Encoding the SDKs use, as (label, encode) pairs for tests."""

import gzip
import zlib

import brotli
import zstandard


def raw_deflate(data: bytes) -> bytes:
    # Deflate without the zlib wrapper, which some clients send.
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def identity(data: bytes) -> bytes:
    return data


COMPRESSORS = [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", raw_deflate),
    ("br", brotli.compress),
    ("zstd", zstandard.ZstdCompressor().compress),
]
# Labels that mean "no encoding": none, the bogus UTF-8 of old SDKs, identity.
NO_ENCODING = [("", identity), ("UTF-8", identity), ("identity", identity)]
