"""Reading error events: exceptions, frames, the in-app split, the message,
on the shapes SDKs send and on shapes they do not."""

import pytest

from collector.protocol.events import exceptions_of, frames_of, is_message_event, message_of, split_in_app
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


# What @sentry/node 11 sends for captureMessage with attachStacktrace: true
# (checked against the real SDK): an exception with no type, the message as
# its value, and a synthetic mechanism.
NODE_MESSAGE = {
    "level": "info",
    "message": "node worker finished",
    "exception": {
        "values": [
            {
                "value": "node worker finished",
                "mechanism": {"type": "generic", "handled": True, "synthetic": True},
                "stacktrace": {"frames": [APP]},
            }
        ]
    },
}


def test_a_message_with_a_made_up_stack_is_titled_by_its_message():
    key, title = group_of(NODE_MESSAGE)
    assert title == "node worker finished"
    assert is_message_event(NODE_MESSAGE)
    # The same message without a stack is the same issue.
    assert group_of({"message": "node worker finished"}) == (key, title)


@pytest.mark.parametrize(
    "event, message",
    [
        ({"message": "m", "exception": [{"type": "E", "value": "v"}]}, False),
        ({"exception": [{"value": "v", "mechanism": {"synthetic": True}}]}, False),
        ({"message": "m", "exception": [{"type": "E", "mechanism": {"synthetic": True}}]}, True),
        ({"logentry": {"formatted": "m"}}, True),
    ],
)
def test_is_message_event(event, message):
    assert is_message_event(event) is message


def test_an_exception_without_a_type_is_titled_by_its_value():
    assert group_of({"exception": [{"value": "v"}]})[1] == "v"
