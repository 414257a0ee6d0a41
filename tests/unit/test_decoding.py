"""Content-Encoding handling, including bombs stopped at the limit."""

import gzip

import brotli
import pytest

from collector.protocol.compression import decode, normalize_encoding
from collector.protocol.refusals import BodyTooLarge, Refusal, UndecodableBody
from encoders import COMPRESSORS, NO_ENCODING

DATA = b'{"event_id":"abc"}\n' * 50
LIMIT = 1024 * 1024


@pytest.mark.parametrize("label, encode", COMPRESSORS + NO_ENCODING)
def test_each_encoding_decodes(label, encode):
    assert decode(encode(DATA), normalize_encoding(label), LIMIT) == DATA


@pytest.mark.parametrize("label, encode", COMPRESSORS)
def test_bombs_stop_at_the_limit(label, encode):
    bomb = encode(b"\0" * (64 * LIMIT))  # 64 MiB of zeros, a few KiB compressed
    assert len(bomb) < 100_000
    with pytest.raises(BodyTooLarge) as refused:
        decode(bomb, normalize_encoding(label), LIMIT)
    assert refused.value.status == 413


def test_an_unencoded_body_past_the_limit_is_too_large():
    with pytest.raises(BodyTooLarge):
        decode(b"x" * (LIMIT + 1), "", LIMIT)
    assert decode(b"x" * LIMIT, "", LIMIT) == b"x" * LIMIT


@pytest.mark.parametrize("label", [None, "", "identity", "UTF-8", "compress"])
def test_unknown_encodings_mean_none(label):
    assert normalize_encoding(label) == ""


@pytest.mark.parametrize("label, expected", [("gzip", "gzip"), (" X-GZIP ", "gzip"), ("BR", "br"), ("zstd", "zstd")])
def test_known_encodings_whatever_their_case(label, expected):
    assert normalize_encoding(label) == expected


@pytest.mark.parametrize("label", ["gzip", "deflate", "br", "zstd"])
def test_garbage_under_a_label_is_undecodable(label):
    with pytest.raises(UndecodableBody) as refused:
        decode(b"definitely not compressed", label, LIMIT)
    assert refused.value.status == 400 and label in refused.value.reason


def test_truncated_gzip_is_undecodable():
    with pytest.raises(UndecodableBody):
        decode(gzip.compress(DATA)[:-12], "gzip", LIMIT)


def test_every_decoding_failure_is_a_refusal():
    # Ingest answers any Refusal; a decoding failure must never escape as
    # another exception (a 500).
    assert issubclass(UndecodableBody, Refusal) and issubclass(BodyTooLarge, Refusal)


def test_a_large_brotli_body_is_drained_whole_and_a_cut_one_refused():
    # The decoder holds output past its buffer limit once all input is in (a
    # real SDK's 2.6 MB transaction): that is not a truncated stream.
    body = b"".join(b"%d:" % n + b"x" * 700 for n in range(4000))
    compressed = brotli.compress(body)
    assert decode(compressed, "br", len(body)) == body
    with pytest.raises(UndecodableBody, match="truncated"):
        decode(compressed[: len(compressed) // 2], "br", len(body))
