"""Issue 14's rough edges outside the waterfall: times in the reader's zone,
breadcrumb times, the users list, a page past the end of the traces list,
a transaction's id on /events, messages shown as messages, users merged."""

from __future__ import annotations

import re
import time

import orjson

from collector.read.lists import merge_users
from helpers import envelope, post

NOW = time.time()
TRACE = "ab" * 16
SPAN = "cd" * 8


def _event(event_id: str, **fields) -> tuple[dict, bytes]:
    payload = {
        "event_id": event_id,
        "timestamp": NOW,
        "contexts": {"trace": {"trace_id": TRACE, "span_id": SPAN}},
        **fields,
    }
    return {"type": "event"}, orjson.dumps(payload)


async def _send(client, event_id: str, item) -> None:
    assert (await post(client, envelope(item, header={"event_id": event_id}))).status == 200


async def test_times_are_time_tags_in_utc_and_breadcrumbs_are_times_before_the_error(client):
    crumbs = [
        {"timestamp": NOW - 1.2, "category": "ui.click", "message": "clicked pay"},  # JS: epoch seconds
        {"timestamp": "2024-05-01T10:00:00.250Z", "category": "http"},  # Python: ISO text
    ]
    await _send(client, "1" * 32, _event("1" * 32, message="boom", breadcrumbs=crumbs))
    html = await (await client.get("/events/" + "1" * 32)).text()
    assert re.search(r'<time class="local" datetime="[0-9T:.-]+\+00:00">[0-9-]+ [0-9:]+ UTC</time>', html)
    crumb_rows = html.split("<h2>Breadcrumbs</h2>")[1].split("</table>")[0]
    assert f"{NOW - 1.2}" not in crumb_rows and str(int(NOW)) not in crumb_rows
    assert '<time class="local precise" datetime="2024-05-01T10:00:00.250+00:00">10:00:00.250 UTC</time>' in crumb_rows
    assert ">-1.2 s<" in crumb_rows
    assert 'src="/static/times.js"' in html
    script = await client.get("/static/times.js")
    assert script.status == 200 and "time[datetime]" in await script.text()
    # The lists' "5 min ago" carries the exact time on hover.
    errors = await (await client.get("/errors")).text()
    assert re.search(r'<time class="ago" datetime="[^"]+" title="[^"]+ UTC">\d+ (s|min|h) ago</time>', errors)


async def test_users_list_sdks_with_a_space_and_one_entry_per_user_id(client):
    user = {"id": "42", "username": "ada", "email": "ada@example.com"}
    await _send(client, "2" * 32, _event("2" * 32, message="a", user=user, sdk={"name": "sentry.python"}))
    renamed = {**user, "username": "ada.lovelace"}
    later = _event("3" * 32, message="b", user=renamed, timestamp=NOW + 5, sdk={"name": "sentry.javascript.browser"})
    await _send(client, "3" * 32, later)
    [listed] = (await (await client.get("/api/users")).json())["users"]
    assert listed["username"] == "ada.lovelace" and listed["id"] == "42" and listed["seen"] == 2
    assert listed["sdks"] == "sentry.javascript.browser, sentry.python"
    html = await (await client.get("/users")).text()
    assert "sentry.javascript.browser, sentry.python" in html and html.count("/users/ada%40example.com") == 1


def test_merge_users_by_id_then_email():
    def record(id_, email, username, seen_at, sdk="s"):
        return {"id": id_, "email": email, "username": username, "sdk": sdk, "seen": 1, "last_seen": seen_at}

    merged = merge_users(
        [
            record("7", None, "old", 1.0),
            record("7", "g@example.com", "new", 3.0, "t"),
            record(None, "g@example.com", None, 2.0),  # the same person before login sent only an email
            record(None, "x@example.com", None, 4.0),
            record(None, None, "anon", 0.5),
        ]
    )
    assert [(u["key"], u["username"], u["seen"]) for u in merged] == [
        ("x@example.com", None, 1),
        ("g@example.com", "new", 3),
        ("anon", "anon", 1),
    ]
    assert merged[1]["sdks"] == "s, t" and merged[1]["id"] == "7"


async def test_a_page_past_the_last_says_which_page_is_the_last(client):
    await _send(client, "4" * 32, _event("4" * 32, message="a"))
    html = await (await client.get("/traces?page=99999")).text()
    assert "No traces yet" not in html
    assert "No traces on page 99999; the last page is 1." in html and 'href="?page=1"' in html
    filtered = await (await client.get("/traces?page=7&environment=prod")).text()
    assert "No trace matches these filters" in filtered and "the last page" not in filtered
    first = await (await client.get("/traces")).text()
    assert "the last page" not in first
    # The list's start times carry the exact time on hover, local by script.
    assert re.search(r'<td><time class="ago" datetime="[^"]+" title="[^"]+ UTC">', first)


async def test_a_transaction_id_on_events_opens_its_trace_at_its_segment(client):
    transaction = {
        "type": "transaction",
        "event_id": "5" * 32,
        "transaction": "GET /cart",
        "start_timestamp": NOW - 1,
        "timestamp": NOW,
        "contexts": {"trace": {"trace_id": TRACE, "span_id": SPAN, "op": "http.server"}},
        "spans": [],
    }
    await _send(client, "5" * 32, ({"type": "transaction"}, orjson.dumps(transaction)))
    assert (await client.get("/api/events/" + "5" * 32)).status == 200
    r = await client.get("/events/" + "5" * 32, allow_redirects=False)
    assert (r.status, r.headers["Location"]) == (302, f"/traces/{TRACE}#span-{SPAN}")


# What @sentry/node 11 sends for captureMessage with attachStacktrace: true.
NODE_MESSAGE = {
    "level": "info",
    "message": "node worker finished",
    "exception": {
        "values": [
            {
                "value": "node worker finished",
                "mechanism": {"type": "generic", "handled": True, "synthetic": True},
                "stacktrace": {"frames": [{"filename": "/app/worker.mjs", "function": "done", "in_app": True}]},
            }
        ]
    },
}


async def test_a_message_with_a_stack_is_titled_and_styled_as_a_message(client):
    await _send(client, "6" * 32, _event("6" * 32, **NODE_MESSAGE))
    [group] = (await (await client.get("/api/errors")).json())["groups"]
    assert (group["title"], group["level"]) == ("node worker finished", "info")
    errors = await (await client.get("/errors")).text()
    assert '<span class="level level-info">info</span>' in errors and "None:" not in errors
    page = await (await client.get("/events/" + "6" * 32)).text()
    assert "None" not in page and '<span class="level level-info">info</span>' in page
    assert '<pre class="message">node worker finished</pre>' in page and "Where the message was captured" in page
    assert 'class="type"' not in page and "done" in page
