"""Trace assembly: stored rows in, the shapes the API and pages show out.

Pure functions. A transaction's root, its child spans and a v2 span item are
all just spans here; a trace is the set of spans sharing a trace id, linked
by parent_span_id across services.
"""

from __future__ import annotations

import orjson


def _loads(text):
    return orjson.loads(text) if text else None


def user_of(row: dict) -> dict | None:
    user = {k: row.get(f"user_{k}") for k in ("id", "email", "username", "ip")}
    user = {k: v for k, v in user.items() if v}
    return user or None


def sdk_of(row: dict) -> dict | None:
    if not row.get("sdk_name"):
        return None
    return {"name": row["sdk_name"], "version": row.get("sdk_version")}


def span_view(row: dict) -> dict:
    return {
        "span_id": row["span_id"],
        "parent_span_id": row["parent_span_id"],
        "segment_id": row["segment_id"],
        "is_segment": bool(row["is_segment"]),
        "op": row["op"],
        "description": row["description"],
        "start_timestamp": row["start_timestamp"],
        "timestamp": row["timestamp"],
        "status": row["status"],
        "sdk": sdk_of(row),
        "platform": row["platform"],
        "environment": row["environment"],
        "release": row["release"],
        "user": user_of(row),
        "tags": _loads(row["tags"]),
        "data": _loads(row["data"]),
        "origin": row["origin"],
        "event_id": row["event_id"],
        "dsc": _loads(row["dsc"]),
    }


def error_view(row: dict) -> dict:
    return {
        "event_id": row["event_id"],
        "span_id": row["span_id"],
        "type": row["exception_type"],
        "value": row["exception_value"] or row["message"],
        "level": row["level"],
        "timestamp": row["timestamp"],
        "transaction": row["transaction_name"],
        "sdk": sdk_of(row),
        "environment": row["environment"],
        "release": row["release"],
        "user": user_of(row),
    }


def log_view(row: dict) -> dict:
    return {
        "span_id": row["span_id"],
        "timestamp": row["timestamp"],
        "level": row["level"],
        "body": row["body"],
        "sdk": sdk_of(row),
        "attributes": _loads(row["attributes"]),
    }


def users_in(spans: list[dict], errors: list[dict]) -> list[dict]:
    """Each distinct user seen on the trace, with the SDKs that reported it."""
    seen: dict[tuple, dict] = {}
    for item in [*spans, *errors]:
        user = item["user"]
        if not user:
            continue
        key = (user.get("id"), user.get("email"), user.get("username"))
        entry = seen.setdefault(key, {**user, "sdks": []})
        sdk = (item["sdk"] or {}).get("name")
        if sdk and sdk not in entry["sdks"]:
            entry["sdks"].append(sdk)
    return list(seen.values())


def assemble(trace_id: str, rows: dict) -> dict:
    spans = [span_view(r) for r in rows["spans"]]
    errors = [error_view(r) for r in rows["errors"]]
    return {
        "trace_id": trace_id,
        "spans": spans,
        "errors": errors,
        "logs": [log_view(r) for r in rows["logs"]],
        "users": users_in(spans, errors),
    }


def summary_view(row: dict) -> dict:
    start, end = row["start_timestamp"], row["end_timestamp"]
    return {
        "trace_id": row["trace_id"],
        "start": start,
        "duration": (end - start) if start is not None and end is not None else None,
        "root": row["root_name"],
        "root_op": row["root_op"],
        "sdks": _loads(row["sdks"]) or [],
        "span_count": row["span_count"],
        "error_count": row["error_count"],
        "users": _loads(row["users"]) or [],
        "environments": _loads(row["environments"]) or [],
    }
