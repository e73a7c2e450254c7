from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import uuid4

import msgspec
import pytest

from events import codec
from events.base import EVENT_TYPES, DomainEvent
from events.session import SessionRequested
from tests.factories import requested_session

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class _Probe(DomainEvent, frozen=True, kw_only=True):
    kind: ClassVar[str] = "probe"


class Renamed(_Probe, frozen=True, kw_only=True):
    """Version 2 split ``name`` into ``given`` and ``family``."""

    class_version: ClassVar[int] = 2
    given: str
    family: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        given, _, family = state.pop("name").partition(" ")
        state["given"] = given
        state["family"] = family


def requested() -> SessionRequested:
    event = requested_session(
        session_type="batch", startup_command="echo 42", resources={"cpu": "2"}, at=NOW
    ).collect_events()[0]
    assert isinstance(event, SessionRequested)
    return event


def test_round_trip_is_exact() -> None:
    event = requested()
    topic, payload = codec.encode(event)
    assert topic == "session.SessionRequested@1"
    assert codec.decode(topic, payload) == event
    assert codec.encode(codec.decode(topic, payload))[1] == payload


def test_a_payload_leaves_out_the_fields_at_their_defaults_and_decoding_fills_them_in() -> None:
    event = requested()
    fields = msgspec.json.decode(codec.encode(event)[1])
    # At their defaults: left out. Set: written, even where the value is falsy.
    assert {"priority", "environ", "mounts", "depends_on", "starts_at"}.isdisjoint(fields)
    assert fields["startup_command"] == "echo 42"
    busy = msgspec.structs.replace(event, priority=5, environ={"A": ""})
    busy_fields = msgspec.json.decode(codec.encode(busy)[1])
    assert (busy_fields["priority"], busy_fields["environ"]) == (5, {"A": ""})
    for each in (event, busy):
        assert codec.decode(*codec.encode(each)) == each
    # A payload written before defaults were left out decodes to the same event.
    spelled_out = msgspec.json.encode(msgspec.structs.asdict(event))
    assert len(spelled_out) > len(codec.encode(event)[1])
    assert codec.decode("session.SessionRequested@1", spelled_out) == event


def test_registry_knows_concrete_events_by_stable_name() -> None:
    assert EVENT_TYPES.resolve("session.SessionRequested") is SessionRequested
    assert EVENT_TYPES.resolve("probe.Renamed") is Renamed
    assert "probe._Probe" not in EVENT_TYPES.names()


def test_old_version_is_upcast() -> None:
    old = {
        "originator_id": str(uuid4()),
        "originator_version": 3,
        "timestamp": NOW.isoformat(),
        "name": "Ada Lovelace",
    }
    event = codec.decode("probe.Renamed@1", msgspec.json.encode(old))
    assert isinstance(event, Renamed)
    assert (event.given, event.family) == ("Ada", "Lovelace")


@pytest.mark.parametrize(
    ("topic", "payload", "error"),
    [
        ("probe.Nope@1", b"{}", codec.UnknownEventType),
        ("no-version", b"{}", codec.UnknownEventType),
        ("probe.Renamed@3", b"{}", codec.NewerEventVersion),
        ("session.SessionRequested@1", b"\xff{", codec.CorruptPayload),
        ("session.SessionRequested@1", b'{"originator_id": 1}', codec.CorruptPayload),
    ],
)
def test_undecodable_events_raise_typed_errors(
    topic: str, payload: bytes, error: type[codec.DecodeError]
) -> None:
    with pytest.raises(error) as info:
        codec.decode(topic, payload)
    assert info.value.reason == error.reason


def test_a_topic_decoded_before_decodes_the_same_and_still_refuses_corrupt_payloads() -> None:
    event = requested_session(request_id="twice").collect_events()[0]
    topic, payload = codec.encode(event)
    assert codec.decode(topic, payload) == event
    assert codec.decode(topic, payload) == event
    with pytest.raises(codec.CorruptPayload, match=topic):
        codec.decode(topic, payload[:-1])


def test_a_second_class_cannot_take_a_registered_name() -> None:
    with pytest.raises(TypeError, match="already registered"):

        class SessionRequested(DomainEvent, frozen=True, kw_only=True):
            kind: ClassVar[str] = "session"
