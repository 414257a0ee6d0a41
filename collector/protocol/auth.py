"""Who sent a request: the Sentry auth forms, and the DSN of a tunnelled envelope.

Pure functions over header and query values so they test without a server.
Failures raise a `Refusal` named after the rule broken.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import urlsplit

from .refusals import BadAuth, HeaderMismatch, InvalidDsn, MissingAuth, UnsupportedVersion

# Relay accepts protocol versions up to this one and rejects newer ones.
MAX_PROTOCOL_VERSION = 8


@dataclass(frozen=True, slots=True)
class Auth:
    public_key: str
    version: int | None = None
    client: str | None = None
    source: str = ""


def _parse_sentry_pairs(text: str) -> dict[str, str]:
    # "sentry_key=abc, sentry_version=7, sentry_client=sentry.python/2.75.0"
    pairs = {}
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            pairs[key.strip()] = value.strip()
    return pairs


def _from_sentry_header(value: str) -> dict[str, str] | None:
    # Rule: the scheme word `Sentry` is case-insensitive.
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "sentry":
        return None
    return _parse_sentry_pairs(rest)


def _from_basic(value: str) -> dict[str, str] | None:
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    # Rule: Basic auth carries the key as the user name: base64 of "KEY:".
    try:
        decoded = base64.b64decode(rest.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise BadAuth("malformed Basic auth: expected base64 of 'KEY:'") from None
    return {"sentry_key": decoded.partition(":")[0]}


def _to_auth(fields: dict[str, str], source: str) -> Auth:
    key = fields.get("sentry_key", "")
    # Rule: an auth source names its key; the version, if any, is an integer
    # no newer than the protocol this collector speaks.
    if not key:
        raise BadAuth(f"missing sentry_key in {source}")
    version = None
    if "sentry_version" in fields:
        try:
            version = int(fields["sentry_version"])
        except ValueError:
            raise BadAuth(f"sentry_version must be an integer, got {fields['sentry_version']!r}") from None
        if version > MAX_PROTOCOL_VERSION:
            raise UnsupportedVersion(
                f"unsupported sentry_version {version}; this collector speaks up to {MAX_PROTOCOL_VERSION}"
            )
    return Auth(key, version, fields.get("sentry_client"), source)


def from_request(headers, query) -> Auth | None:
    """The request's auth, or None when it carries none (a tunnel).

    Rule: exactly one source per request; two or more is a 401, as in Relay.
    An `Authorization` header with another scheme (Bearer…) is not Sentry's
    and is ignored.
    """
    found: list[tuple[dict[str, str], str]] = []
    if "X-Sentry-Auth" in headers:
        fields = _from_sentry_header(headers["X-Sentry-Auth"])
        if fields is None:
            raise BadAuth("X-Sentry-Auth must start with 'Sentry '")
        found.append((fields, "X-Sentry-Auth header"))
    if "Authorization" in headers:
        value = headers["Authorization"]
        fields = _from_sentry_header(value)
        if fields is None:
            fields = _from_basic(value)
        if fields is not None:
            found.append((fields, "Authorization header"))
    query_fields = {k: v for k, v in query.items() if k.startswith("sentry_")}
    if query_fields:
        found.append((query_fields, "query string"))
    if len(found) > 1:
        raise BadAuth("multiple authorization payloads: " + " and ".join(s for _, s in found))
    if not found:
        return None
    return _to_auth(*found[0])


@dataclass(frozen=True, slots=True)
class Dsn:
    public_key: str
    project_id: str


def parse_dsn(value: str) -> Dsn:
    # http://KEY[:SECRET]@host[:port]/[prefix/]PROJECT_ID
    try:
        parts = urlsplit(value)
        key = parts.username or ""
        project = parts.path.rstrip("/").rsplit("/", 1)[-1]
    except ValueError:
        key = project = ""
    if not key or not project:
        raise InvalidDsn(f"invalid dsn in envelope header: {value!r}")
    return Dsn(key, project)


def resolve(auth: Auth | None, envelope_dsn, project_id: str | None) -> tuple[str, str]:
    """The (public key, project id) an envelope is filed under.

    Rule: without request auth the envelope is tunnelled and its header `dsn`
    names the key; with both, they must agree on key and project (400).
    """
    dsn = parse_dsn(envelope_dsn) if isinstance(envelope_dsn, str) and envelope_dsn else None
    if dsn is not None:
        if auth is not None and auth.public_key != dsn.public_key:
            raise HeaderMismatch("public key header mismatch between envelope and request")
        if project_id is not None and dsn.project_id != project_id:
            raise HeaderMismatch(
                f"project id header mismatch: URL says {project_id}, envelope dsn says {dsn.project_id}"
            )
    if auth is not None:
        return auth.public_key, project_id or (dsn.project_id if dsn else "1")
    if dsn is not None:
        return dsn.public_key, project_id or dsn.project_id
    raise MissingAuth("missing authentication: send X-Sentry-Auth, ?sentry_key=…, or a dsn in the envelope header")
