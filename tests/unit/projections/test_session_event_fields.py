"""A session event's fields as the history stores them: cut from the payload, or encoded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import msgspec
import pytest

from events.base import DomainEvent
from events.codec import decode, encode
from projections.base import EventMeta
from projections.session_events import ENVELOPE_FIELDS, fields_json
from tests.unit.projections.fakes import cancelled, requested
from tests.unit.projections.test_usage_and_session_events import assigned


def meta_of(event: DomainEvent, topic: str, payload: bytes) -> EventMeta:
    return EventMeta.of(event, 1, 1, "berth.events.x", topic, payload)


def encoded_again(event: DomainEvent) -> str:
    fields = msgspec.to_builtins(event)
    for name in ENVELOPE_FIELDS:
        del fields[name]
    return msgspec.json.encode(fields).decode()


@pytest.mark.parametrize(
    "event",
    [
        requested(uuid4()),
        cancelled(uuid4()),
        assigned(uuid4(), uuid4(), uuid4(), 1.5, 3),
    ],
    ids=lambda e: type(e).__name__,
)
def test_the_fields_cut_from_a_current_payload_are_those_encoded_from_the_event(
    event: DomainEvent,
) -> None:
    topic, payload = encode(event)
    decoded = decode(topic, payload)  # the runner decodes before any model applies
    fields = fields_json(decoded, meta_of(decoded, topic, payload))
    assert fields == encoded_again(decoded)
    assert not set(json.loads(fields)) & set(ENVELOPE_FIELDS)


def test_a_payload_spelled_otherwise_is_encoded_from_the_event() -> None:
    event = cancelled(uuid4())
    topic, payload = encode(event)
    decode(topic, payload)
    spaced = json.dumps(json.loads(payload), indent=1).encode()
    reordered = json.dumps(dict(reversed(json.loads(payload).items()))).encode()
    for other in (spaced, reordered):
        assert fields_json(event, meta_of(event, topic, other)) == encoded_again(event)


def test_an_older_version_is_encoded_from_the_upcast_event() -> None:
    event = cancelled(uuid4())
    topic, _ = encode(event)
    name, _, _ = topic.rpartition("@")
    # Not the current topic: whatever the payload says, the fields come from the event.
    assert fields_json(event, meta_of(event, f"{name}@0", b"{}")) == encoded_again(event)


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 11, 27, 19, 55, 36, 123456, tzinfo=UTC),
        datetime(2026, 11, 27, 19, 55, 36, tzinfo=UTC),
        datetime(2026, 11, 27, 19, 55, 36, 10, tzinfo=UTC),
        datetime(1999, 1, 2, 3, 4, 5, 600000, tzinfo=timezone(timedelta(hours=-7))),
        datetime(2030, 6, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ],
    ids=str,
)
def test_the_id_and_time_read_from_a_payload_are_those_of_the_decoded_event(
    when: datetime,
) -> None:
    event = msgspec.structs.replace(cancelled(uuid4()), timestamp=when)
    topic, payload = encode(event)
    decoded = decode(topic, payload)
    meta = meta_of(decoded, topic, payload)
    assert meta.fields_at > 0  # read from the payload
    assert (meta.aggregate_id, meta.at) == (str(decoded.originator_id), when.isoformat())


@pytest.mark.parametrize(
    "spelling",
    [b'"2026-11-27T19:55:36.1Z"', b'"2026-11-27T19:55:36-00:00"', b'"2026-11-27t19:55:36Z"'],
)
def test_a_time_spelled_otherwise_is_taken_from_the_decoded_event(spelling: bytes) -> None:
    event = cancelled(uuid4())
    topic, payload = encode(event)
    decode(topic, payload)
    start = payload.index(b'"timestamp":') + len(b'"timestamp":')
    end = payload.index(b'"', start + 1) + 1
    other = payload[:start] + spelling + payload[end:]
    decoded = decode(topic, other)
    meta = meta_of(decoded, topic, other)
    assert meta.fields_at == 0
    assert meta.at == decoded.timestamp.isoformat()
