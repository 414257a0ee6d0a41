"""Spotlight's stream framing: an envelope as its sidecar sends it on `GET /stream`.

Read from getsentry/spotlight (packages/spotlight/src/server/routes/stream/index.ts,
parser/processEnvelope.ts, formatters/human/utils.ts; Spotlight 4.x): each
envelope is one Server-Sent Event whose name is the content type it was
posted with (`application/x-sentry-envelope`, plus `;base64` when the client
asked with `?base64`), whose id is a UUIDv7 also written into the envelope
header as `__spotlight_envelope_id`, and whose data is the envelope parsed to
JSON: `[header, [[item header, payload], …]]`. A JSON payload is parsed (and
gets its item's `type`; one that is not JSON becomes null); an attachment,
replay_video or statsd payload becomes `{"data": text}`, UTF-8 for text
content types and base64 otherwise. The header also gets
`__spotlight_sender_user_agent` and `__spotlight_inferred_source`
(browser, mobile or server), which Spotlight's UI groups by.

Pure: bytes in, JSON text out.
"""

from __future__ import annotations

import base64
import random
import time

import orjson

from .envelope import parse
from .jsonshape import as_dict, as_str
from .refusals import MalformedEnvelope

CONTENT_TYPE = "application/x-sentry-envelope"
# Items Spotlight passes on as text or base64 instead of parsing as JSON.
RAW_TYPES = frozenset({"attachment", "replay_video", "statsd"})
TEXT_CONTENT_TYPES = frozenset(
    {
        "text/plain",
        "text/css",
        "text/csv",
        "text/html",
        "text/javascript",
        "text/json",
        "text/x-json",
        "application/json",
        "application/ld+json",
    }
)
MOBILE_SDKS = (
    "cocoa",
    "android",
    "react-native",
    "flutter",
    "capacitor",
    "cordova",
    "xamarin",
    "maui",
    "unity",
    "kotlin.kmp",
)
# JavaScript SDKs that run on servers or render on both sides: not "browser".
NOT_BROWSER_JS = (
    "node",
    "bun",
    "deno",
    "electron",
    "serverless",
    "cloudflare",
    "vercel-edge",
    "wasm",
    "opentelemetry",
    "nextjs",
    "remix",
    "gatsby",
    "astro",
    "nuxt",
    "sveltekit",
    "solidstart",
    "nestjs",
    "tanstackstart",
)
SERVER_PLATFORMS = frozenset(
    {"node", "python", "ruby", "php", "java", "go", "rust", "perl", "elixir", "csharp", "dotnet"}
)
BROWSERS = ("Chrome", "Firefox", "Safari", "Edge")


def event_name(base64_asked: bool) -> str:
    """The SSE event name: Spotlight's UI asks with ?base64=1 and listens
    for both names; `spotlight tail` listens for the plain one. The data is
    the same JSON either way."""
    return CONTENT_TYPE + (";base64" if base64_asked else "")


def envelope_id(now: float | None = None) -> str:
    """A UUIDv7 as Spotlight's ids are: milliseconds first, so ids sort by time."""
    ms = int((time.time() if now is None else now) * 1000) & ((1 << 48) - 1)
    # An id, not a secret: the interpreter's generator, not a system call
    # per envelope (every stored envelope gets one, listened to or not).
    rand = random.getrandbits(74)
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def envelope_json(body: bytes, spotlight_id: str, user_agent: str | None) -> str | None:
    """The event data for one decoded envelope body, or None when it is not
    an envelope (Spotlight skips those too)."""
    try:
        envelope = parse(body)
    except MalformedEnvelope:
        return None
    items, payloads = [], []
    for item in envelope.items:
        headers = dict(item.headers)
        payload = _payload(headers, item.payload)
        payloads.append(payload)
        items.append([headers, _fragment(payload)])
    header = dict(envelope.headers, __spotlight_envelope_id=spotlight_id)
    if user_agent:
        header["__spotlight_sender_user_agent"] = user_agent
    header["__spotlight_inferred_source"] = inferred_source(header, payloads, user_agent)
    return orjson.dumps([header, items]).decode()


def _payload(headers: dict, raw: bytes):
    item_type = headers["type"]
    if item_type in RAW_TYPES:
        if item_type == "statsd" and not headers.get("content_type"):
            headers["content_type"] = "text/plain"
        if as_str(headers.get("content_type")) in TEXT_CONTENT_TYPES:
            return {"data": raw.decode("utf-8", "replace")}
        return {"data": base64.b64encode(raw).decode()}
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # Replay recordings (a JSON line, then zlib) and broken items alike.
        return None
    if isinstance(payload, dict):
        payload["type"] = item_type
    return payload


def _fragment(payload) -> orjson.Fragment | None:
    # Each payload written on its own, so one nested deeper than orjson
    # writes (it reads deeper) becomes null instead of losing the envelope.
    try:
        return orjson.Fragment(orjson.dumps(payload))
    except orjson.JSONEncodeError:
        return None


def inferred_source(header: dict, payloads: list, user_agent: str | None) -> str:
    """browser, mobile or server, by Spotlight's rules in its order: the
    SDK's name for mobile, a browser's User-Agent, what the events say,
    then the SDK's name again."""
    sdk_name = as_str(as_dict(header.get("sdk")).get("name")) or ""
    if any(marker in sdk_name for marker in MOBILE_SDKS):
        return "mobile"
    if user_agent and _is_browser(user_agent):
        return "browser"
    for payload in payloads:
        source = _event_source(as_dict(payload))
        if source:
            return source
    if sdk_name.startswith("sentry.javascript.") and not any(marker in sdk_name for marker in NOT_BROWSER_JS):
        return "browser"
    if "blazor.webassembly" in sdk_name:
        return "browser"
    return "server"


def _event_source(event: dict) -> str | None:
    if as_dict(event.get("tags")).get("runtime") == "browser":
        return "browser"
    if as_dict(as_dict(event.get("contexts")).get("runtime")).get("name"):
        return "server"
    if event.get("server_name") or as_str(event.get("platform")) in SERVER_PLATFORMS:
        return "server"
    return None


def _is_browser(user_agent: str) -> bool:
    # Spotlight names the browser from "Chrome/", "Firefox/", "Safari/" or
    # "Edg/", else from the User-Agent's first word.
    if any(mark in user_agent for mark in ("Chrome/", "Firefox/", "Safari/", "Edg/")):
        return True
    first = user_agent.split("/", 1)[0].split(" ", 1)[0].split("(", 1)[0]
    return any(browser in first for browser in BROWSERS)
