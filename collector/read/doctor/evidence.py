"""What every finding is made of: the SDK and part of the app a row came
from, how a user reads, and the finding itself."""

from __future__ import annotations

from ...protocol.jsonshape import as_dict, as_number, as_str
from ...protocol.sdks import service_category


def sdk_of(row: dict) -> str | None:
    return as_str(as_dict(row.get("sdk")).get("name"))


def category(row: dict) -> str:
    return service_category(sdk_of(row), as_str(row.get("platform")))


def start_of(span: dict) -> float:
    return as_number(span.get("start_timestamp")) or 0.0


def user_text(user: dict | None) -> str:
    if not user:
        return "no user"
    return ", ".join(f"{k}={v}" for k, v in as_dict(user).items() if k in ("id", "email", "username"))


def anonymous(user: dict | None) -> bool:
    # "Anonymous": no user at all, or only an id/IP with nothing that names a person.
    user = as_dict(user)
    return not (user.get("email") or user.get("username"))


def finding(kind, trace_id, span_id, sdk, detail, fix, **evidence) -> dict:
    return {
        "kind": kind,
        "trace_id": trace_id,
        "span_id": span_id,
        "sdk": sdk,
        "detail": detail,
        "fix": fix,
        "evidence": evidence,
    }
