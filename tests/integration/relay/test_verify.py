"""The fault tests' verdict is only as good as their verifier: it must see each kind of fault."""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID, uuid4

from tests.integration.relay.verify import StreamedEvent, discrepancies, expected_subject

TOPIC = "session.SessionRequested@1"


@dataclass(frozen=True)
class Stored:
    id: int
    originator_id: UUID
    topic: str
    state: bytes


STORED = [Stored(i, uuid4(), TOPIC, f'{{"n":{i}}}'.encode()) for i in range(1, 6)]


def relayed(notification: Stored, seq: int) -> StreamedEvent:
    return StreamedEvent(
        seq=seq,
        subject=expected_subject(notification),
        msg_id=str(notification.id),
        topic=notification.topic,
        payload=notification.state,
    )


STREAMED = [relayed(n, seq) for seq, n in enumerate(STORED, start=1)]


def test_a_faithful_stream_has_no_discrepancies() -> None:
    assert (
        expected_subject(STORED[0])
        == f"berth.ev.session.{STORED[0].originator_id}.SessionRequested"
    )
    assert discrepancies(STORED, STREAMED) == []


def test_gaps_duplicates_extras_and_reordering_are_each_reported() -> None:
    gap = STREAMED[:2] + STREAMED[3:]
    duplicate = [*STREAMED, STREAMED[-1]]
    extra = [*STREAMED, replace(STREAMED[-1], msg_id="6")]
    swapped = [STREAMED[0], STREAMED[2], STREAMED[1], *STREAMED[3:]]
    assert discrepancies(STORED, gap) == ["1 notifications missing from the stream: 3"]
    assert discrepancies(STORED, duplicate) == ["1 notifications twice on the stream: 5"]
    assert discrepancies(STORED, extra) == ["1 messages not in the store: 6"]
    assert discrepancies(STORED, swapped) == [
        "out of order from position 1: store ['2', '3', '4', '5'], stream ['3', '2', '4', '5']"
    ]


def test_a_changed_payload_subject_or_topic_is_reported() -> None:
    changed = list(STREAMED)
    changed[0] = replace(changed[0], payload=b"{}")
    changed[1] = replace(changed[1], subject="berth.ev.session.x.SessionRequested")
    changed[2] = replace(changed[2], topic="session.SessionCancelled@1")
    problems = discrepancies(STORED, changed)
    assert [p.split(":")[0] for p in problems] == [
        "notification 1 (stream seq 1)",
        "notification 2 (stream seq 2)",
        "notification 3 (stream seq 3)",
    ]
