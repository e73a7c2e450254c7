"""In-memory stand-ins for the event store's recorder and the stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from uuid import UUID, uuid5

from eventsourcing.persistence import StoredEvent

from events.subjects import event_subject
from services.manager.audit.stream_reader import StreamMessage

NAMESPACE = UUID("9a5c1d7e-2b3f-4c6a-8d9e-0f1a2b3c4d5e")


@dataclass(frozen=True)
class Note:
    id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


class FakeRecorder:
    """A notification log in a list; ``insert_events`` numbers from the end, like a store."""

    def __init__(self, notes: Sequence[Note] = ()) -> None:
        self.notes = list(notes)
        self.insert_calls: list[int] = []

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None
    ) -> list[Note]:
        chosen = [n for n in self.notes if n.id >= (start or 1) and (stop is None or n.id <= stop)]
        return chosen[:limit]

    def max_notification_id(self) -> int | None:
        return self.notes[-1].id if self.notes else None

    def insert_events(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        self.insert_calls.append(len(stored_events))
        ids = []
        for event in stored_events:
            nid = (self.max_notification_id() or 0) + 1
            assert isinstance(event.originator_id, UUID)
            self.notes.append(
                Note(nid, event.originator_id, event.originator_version, event.topic, event.state)
            )
            ids.append(nid)
        return ids


def session_log(count: int) -> list[Note]:
    """``count`` notifications: sessions requested, every third one cancelled after."""
    notes: list[Note] = []
    for n in range(count):
        aggregate = uuid5(NAMESPACE, str(n // 2 if n % 3 else n))
        version = 1 + sum(1 for note in notes if note.originator_id == aggregate)
        name = "SessionRequested" if version == 1 else "SessionCancelled"
        payload = f'{{"originator_id":"{aggregate}","originator_version":{version},"n":{n}}}'
        notes.append(Note(n + 1, aggregate, version, f"session.{name}@1", payload.encode()))
    return notes


def as_relayed(note: Note, seq: int) -> StreamMessage:
    name = note.topic.rpartition("@")[0].partition(".")[2]
    return StreamMessage(
        seq=seq,
        subject=event_subject("session", note.originator_id, name),
        notification_id=note.id,
        topic=note.topic,
        payload=note.state,
    )


async def stream_of(messages: Sequence[StreamMessage]) -> AsyncIterator[StreamMessage]:
    for message in messages:
        yield message
