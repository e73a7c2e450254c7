"""Maps Berth's msgspec events to the event store's records and back.

The stored ``state`` is exactly the bytes the relay puts on JetStream, and the
stored ``topic`` is the event's versioned type name (see :mod:`events.codec`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from events import codec
from events.base import DomainEvent


class MsgspecMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        assert isinstance(domain_event, DomainEvent), domain_event
        topic, payload = codec.encode(domain_event)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=topic,
            state=payload,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return codec.decode(stored_event.topic, stored_event.state)


class NullTranscoder(Transcoder):
    """The mapper encodes with msgspec itself, so no transcoder is needed."""

    def encode(self, obj: Any) -> bytes:
        raise NotImplementedError("events are encoded by MsgspecMapper")

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError("events are decoded by MsgspecMapper")
