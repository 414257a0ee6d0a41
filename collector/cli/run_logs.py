"""What `collector run` stores of a command's output, pure: its bytes cut
into lines, each line a Sentry log record, records packed into `log`
envelopes for the collector's envelope endpoint."""

from __future__ import annotations

import re
import time

import orjson

SDK_NAME = "collector.run"
SDK_VERSION = "0.1.0"
ORIGIN = "auto.log.collector_run"
# A longer line (minified JSON, a base64 blob) is stored cut: a log item
# holds at most 2 MiB, and a batch holds up to BATCH lines.
MAX_LINE = 16 * 1024
BATCH = 100

# Colours and cursor moves a tool writes for a terminal: not part of the text.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# A level word that starts a line (`INFO:     Started server`, `[WARN] …`,
# `ERROR - …`) says more than the stream it came on: uvicorn and Python's
# logging write every level to stderr.
_LEVEL_WORD = re.compile(r"^\W{0,3}(trace|debug|info|notice|warn|warning|error|err|critical|fatal)\b", re.IGNORECASE)
_LEVELS = {"notice": "info", "warning": "warn", "err": "error", "critical": "fatal"}
SEVERITY = {"trace": 1, "debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}
STREAM_LEVEL = {"stdout": "info", "stderr": "error"}


class LineSplitter:
    """Bytes as they arrive -> complete lines; a line longer than MAX_LINE
    is cut rather than held back without bound."""

    def __init__(self):
        self._partial = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        while len(self._partial) > MAX_LINE:
            lines.append(self._partial[:MAX_LINE])
            self._partial = self._partial[MAX_LINE:]
        return lines

    def rest(self) -> list[bytes]:
        """What came after the last newline, when the stream ends."""
        rest, self._partial = self._partial, b""
        return [rest] if rest else []


def text_of(line: bytes) -> str:
    """A line as stored: decoded, without terminal colours, and of a
    progress bar redrawn with \\r only the last drawing."""
    text = _ANSI.sub("", line.decode("utf-8", "replace")).rstrip("\r")
    text = text.rsplit("\r", 1)[-1]
    return text if len(text) <= MAX_LINE else text[:MAX_LINE] + "…"


def level_of(text: str, stream: str) -> str:
    match = _LEVEL_WORD.match(text)
    if match:
        word = match.group(1).lower()
        return _LEVELS.get(word, word)
    return STREAM_LEVEL.get(stream, "info")


def _attribute(value) -> dict:
    kind = "integer" if isinstance(value, int) else "string"
    return {"value": value, "type": kind}


def log_record(text: str, stream: str, service: str, environment: str, now: float | None = None) -> dict:
    level = level_of(text, stream)
    attributes = {
        "service.name": service,
        "sentry.origin": ORIGIN,
        # OpenTelemetry's name for which standard stream a line came on.
        "log.iostream": stream,
        "sentry.environment": environment,
        "sentry.sdk.name": SDK_NAME,
        "sentry.sdk.version": SDK_VERSION,
    }
    return {
        "timestamp": time.time() if now is None else now,
        "level": level,
        "severity_number": SEVERITY[level],
        "body": text,
        "attributes": {name: _attribute(value) for name, value in attributes.items()},
    }


def log_envelope(records: list[dict]) -> bytes:
    """One envelope with one `log` item holding `records`."""
    header = {"sdk": {"name": SDK_NAME, "version": SDK_VERSION}, "sent_at": _iso_now()}
    item = {"type": "log", "item_count": len(records), "content_type": "application/vnd.sentry.items.log+json"}
    return b"\n".join([orjson.dumps(header), orjson.dumps(item), orjson.dumps({"items": records})]) + b"\n"


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def service_name(command: tuple[str, ...]) -> str:
    """`uvicorn app:api` -> uvicorn; `python app.py` -> app.py: an
    interpreter names the script it runs, not the service."""
    names = [part.rsplit("/", 1)[-1] for part in command]
    interpreter = re.fullmatch(r"(python[\d.]*|node|ruby|php)", names[0]) if names else None
    if interpreter and len(names) > 1 and not names[1].startswith("-"):
        return names[1]
    return names[0] if names else "command"
