"""Content-Encoding handling, including bombs stopped at the limit."""

import gzip

import pytest

from encoders import COMPRESSORS, NO_ENCODING
from collector.protocol.compression import BodyTooLarge, DecodeError, decode, normalise_encoding

DATA = b'{"event_id":"abc"}\n' * 50
LIMIT = 1024 * 1024


@pytest.mark.parametrize("label, encode", COMPRESSORS + NO_ENCODING)
def test_each_encoding_decodes(label, encode):
    assert decode(encode(DATA), normalise_encoding(label), LIMIT) == DATA


@pytest.mark.parametrize("label, encode", COMPRESSORS)
def test_bombs_stop_at_the_limit(label, encode):
    bomb = encode(b"\0" * (64 * LIMIT))  # 64 MiB of zeros, a few KiB compressed
    assert len(bomb) < 100_000
    with pytest.raises(BodyTooLarge):
        decode(bomb, normalise_encoding(label), LIMIT)


@pytest.mark.parametrize("label", ["gzip", "deflate", "br", "zstd"])
def test_garbage_under_a_label_is_a_decode_error(label):
    with pytest.raises(DecodeError):
        decode(b"definitely not compressed", label, LIMIT)


def test_truncated_gzip_is_a_decode_error():
    with pytest.raises(DecodeError):
        decode(gzip.compress(DATA)[:-12], "gzip", LIMIT)
