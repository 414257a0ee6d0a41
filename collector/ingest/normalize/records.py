"""What every item handler shares: the rows it adds to (`Records`), what the
envelope says about every item (`Context`), reading an item's JSON, and the
columns all event-like rows have (project, SDK, user)."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from ...protocol.envelope import Envelope, Item
from ...protocol.jsonshape import as_dict, as_str
from .values import ItemError

# What one envelope may turn into. SDKs send at most 1,000 spans per
# transaction and batch far fewer logs; an envelope of hundreds of span items
# would otherwise become 360,000 rows and a gigabyte of memory. Items past
# the cap fail alone, with the reason.
MAX_ROWS = 10_000


@dataclass
class Records:
    """Rows by table name; column names match `storage.schema`."""

    rows: dict[str, list[dict]] = field(default_factory=dict)
    # Rows this may still take: an item stops being read at the cap.
    room: int = 1 << 62

    def add(self, table: str, row: dict) -> None:
        self.room -= 1
        if self.room < 0:
            raise ItemError(f"more than {MAX_ROWS} rows from one envelope")
        self.rows.setdefault(table, []).append(row)

    def add_all(self, table: str, rows: list[dict]) -> None:
        """`add` for each of `rows`: the same cap, checked once."""
        if len(rows) > self.room:
            raise ItemError(f"more than {MAX_ROWS} rows from one envelope")
        self.room -= len(rows)
        self.rows.setdefault(table, []).extend(rows)

    def count(self, table: str) -> int:
        return len(self.rows.get(table, ()))

    def extend(self, other: Records) -> None:
        for table, rows in other.rows.items():
            self.rows.setdefault(table, []).extend(rows)


@dataclass(slots=True)
class Context:
    """What the envelope says about every item inside it."""

    project_id: str
    envelope: Envelope
    client_ip: str | None = None
    # The latest time a timestamp may say (the rule beside values.EARLIEST).
    latest: float = 0.0

    @property
    def sdk(self) -> dict:
        return as_dict(self.envelope.headers.get("sdk"))

    @property
    def dsc(self) -> dict:
        return as_dict(self.envelope.headers.get("trace"))


def load_json(item: Item) -> dict:
    """The item's payload as a JSON object, or an ItemError saying why not."""
    try:
        value = orjson.loads(item.payload)
    except orjson.JSONDecodeError as e:
        raise ItemError(f"invalid JSON: {e}") from None
    if not isinstance(value, dict):
        raise ItemError("invalid JSON: expected an object")
    return value


def infers_ip(settings) -> bool:
    # JS SDKs v10+ ask for the client's address with `infer_ip: "auto"` in
    # sdk.settings (events) or the span container's ingest_settings.
    return as_dict(settings).get("infer_ip") == "auto"


def user_columns(user: dict, ctx: Context, infer_ip: bool = False) -> dict:
    ip = as_str(user.get("ip_address"))
    # `{{auto}}` (older SDKs) and infer_ip=auto ask the server to fill in the
    # client's address.
    if ip == "{{auto}}" or (ip is None and infer_ip):
        ip = ctx.client_ip
    return {
        "user_id": as_str(user.get("id")),
        "user_email": as_str(user.get("email")),
        "user_username": as_str(user.get("username") or user.get("name")),
        "user_ip": ip,
    }


def sdk_columns(event: dict, ctx: Context) -> dict:
    sdk = as_dict(event.get("sdk")) or ctx.sdk
    return {"sdk_name": as_str(sdk.get("name")), "sdk_version": as_str(sdk.get("version"))}


def event_columns(event: dict, ctx: Context) -> dict:
    """The columns errors, transactions and replays share."""
    return {
        "project_id": ctx.project_id,
        "platform": as_str(event.get("platform")),
        "environment": as_str(event.get("environment")),
        "release": as_str(event.get("release")),
        **sdk_columns(event, ctx),
        **user_columns(as_dict(event.get("user")), ctx, infers_ip(as_dict(event.get("sdk")).get("settings"))),
    }
