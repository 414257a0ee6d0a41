"""Reading error events: exceptions, frames, the in-app split, the message,
on the shapes SDKs send and on shapes they do not."""

import pytest

from collector.protocol.events import exceptions_of, frames_of, message_of, split_in_app
from collector.protocol.grouping import group_of

APP = {"module": "app.orders", "function": "pay", "in_app": True}
LIB = {"module": "starlette.routing", "function": "handle", "in_app": False}


def test_exceptions_as_a_list_or_under_values():
    cause, reported = {"type": "ValueError"}, {"type": "RuntimeError"}
    assert exceptions_of({"exception": {"values": [cause, reported]}}) == [cause, reported]
    assert exceptions_of({"exception": [cause, "junk", reported]}) == [cause, reported]


@pytest.mark.parametrize("exception", [{}, {"stacktrace": None}, {"stacktrace": {"frames": "x"}}, {"stacktrace": []}])
def test_frames_of_any_shape_are_a_list_of_objects(exception):
    assert frames_of(exception) == []


def test_frames_keep_the_sdk_order_and_split_by_in_app():
    frames = frames_of({"stacktrace": {"frames": [LIB, 7, APP, {"function": "unmarked"}]}})
    assert frames == [LIB, APP, {"function": "unmarked"}]
    in_app, other = split_in_app(frames)
    assert in_app == [APP] and other == [LIB, {"function": "unmarked"}]


@pytest.mark.parametrize(
    "event, message",
    [
        ({"logentry": {"formatted": "paid 3", "message": "paid %s"}}, "paid 3"),
        ({"logentry": {"message": "paid %s"}}, "paid %s"),
        ({"message": "plain"}, "plain"),
        ({"message": 42}, "42"),
        ({"message": ["not", "text"]}, None),
        ({}, None),
    ],
)
def test_message_of(event, message):
    assert message_of(event) == message


def test_grouping_takes_the_top_in_app_frame_of_the_reported_exception():
    def event(frames):
        return {"exception": {"values": [{"type": "E", "value": "v", "stacktrace": {"frames": frames}}]}}

    key, title = group_of(event([LIB, APP]))
    assert title == "E: v"
    # The same top in-app frame is the same issue whatever the library frames.
    assert group_of(event([APP])) == (key, title)
    assert group_of(event([LIB]))[0] != key
