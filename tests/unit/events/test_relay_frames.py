"""The relay's frames, built from parts checked once per topic, are what nats-py's ``publish``
would queue for the same message, headers and all."""

from __future__ import annotations

from uuid import UUID

import pytest
from eventsourcing.persistence import Notification
from nats.errors import MaxPayloadError

from events.frames import BadFrame
from events.relay import _frame as _frame_parts
from events.subjects import EXPECTED_LAST_SEQ_HEADER, MSG_ID_HEADER, TOPIC_HEADER
from tests.unit.events.test_frames import MAX, parts, queued_by_nats_py

TOPIC = "session.SessionRequested@1"


def _frame(notification: Notification, expected_last_seq: int, max_payload: int) -> bytes:
    """The relay's frame of ``notification``, its parts joined."""
    return b"".join(_frame_parts(notification, expected_last_seq, max_payload))


AGGREGATE = UUID("0193a1b2-c3d4-8e5f-9a0b-1c2d3e4f5a6b")


def note(id: int, originator_id: UUID | str, topic: str, state: bytes) -> Notification:
    """A notification as the event store hands the relay one."""
    return Notification(
        id=id, originator_id=originator_id, originator_version=1, topic=topic, state=state
    )


@pytest.mark.parametrize("aggregate", [AGGREGATE, "an-id-of-another-kind"])
async def test_a_relay_frame_is_what_publish_would_queue(aggregate: UUID | str) -> None:
    payload = b'{"originator_id":"x","name":"s"}'
    frame = _frame(note(1234, aggregate, TOPIC, payload), 1233, MAX)
    expected = await queued_by_nats_py(
        f"berth.ev.session.{aggregate}.SessionRequested",
        payload,
        {MSG_ID_HEADER: "1234", TOPIC_HEADER: TOPIC, EXPECTED_LAST_SEQ_HEADER: "1233"},
    )
    assert parts(frame) == parts(expected)


def test_an_aggregate_id_that_would_break_the_subject_is_refused() -> None:
    with pytest.raises(BadFrame, match="holds whitespace"):
        _frame(note(1, "two words", TOPIC, b"{}"), 0, MAX)


def test_a_topic_that_would_break_the_subject_is_refused() -> None:
    with pytest.raises(BadFrame, match="holds whitespace"):
        _frame(note(1, AGGREGATE, "session.Session Requested@1", b"{}"), 0, MAX)


def test_a_message_over_the_server_limit_is_refused() -> None:
    with pytest.raises(MaxPayloadError):
        _frame(note(1, AGGREGATE, TOPIC, b"x" * 100), 0, 90)


@pytest.mark.parametrize("kind", ["grid", "identity", "id"])
def test_a_kind_that_holds_the_letters_id_keeps_its_subject(kind: str) -> None:
    frame = _frame(note(1, AGGREGATE, f"{kind}.Moved@1", b"{}"), 0, MAX)
    assert frame.startswith(f"HPUB berth.ev.{kind}.{AGGREGATE}.Moved ".encode())


def test_a_topic_with_a_nul_character_is_refused() -> None:
    with pytest.raises(BadFrame, match="NUL"):
        _frame(note(1, AGGREGATE, "session.Odd\x00Event@1", b"{}"), 0, MAX)
