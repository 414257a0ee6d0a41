"""Files of envelopes: the shared-trace file `collector export` writes (and
the trace page downloads), cut back into envelopes to post one by one.

The file is envelopes one after the other. Every item header has a `type`
and a `length`; an envelope header has no `type`. So after each payload the
next line is either the next item of this envelope or the header of the
next envelope, and binary payloads (recordings, attachments) never need to
be looked into. A file an SDK wrote (one envelope, JS SDKs' items without
`length`) is taken whole: it is one envelope.
"""

from __future__ import annotations

import orjson


def _header_at(data: bytes, offset: int) -> tuple[dict | None, int]:
    """The JSON object on the line at offset (None if it is not one), and where the next line starts."""
    end = data.find(b"\n", offset)
    end = len(data) if end == -1 else end
    try:
        value = orjson.loads(data[offset:end])
    except orjson.JSONDecodeError:
        value = None
    return (value if isinstance(value, dict) else None), end + 1


def split(data: bytes) -> list[bytes]:
    """The envelopes of a file, each as its bytes; the whole file as one
    envelope when it is not a file of envelopes that all say their lengths."""
    envelopes, start, offset = [], 0, 0
    _, offset = _header_at(data, 0)
    while offset < len(data):
        headers, after = _header_at(data, offset)
        if headers is None:
            return [data]
        if "type" not in headers:
            # The header of the next envelope.
            envelopes.append(data[start:offset])
            start, offset = offset, after
            continue
        length = headers.get("length")
        if not isinstance(length, int) or isinstance(length, bool) or length < 0 or after + length > len(data):
            return [data]
        offset = after + length + 1
    envelopes.append(data[start:])
    return [envelope for envelope in envelopes if envelope.strip()]
