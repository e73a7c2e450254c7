"""Encoding of events to bytes and back, identical in the store and on the stream.

A stored event is ``(topic, payload)``: the topic is ``<kind>.<EventName>@<version>``
and the payload is the msgspec JSON of the Struct, without the fields at their defaults
(:class:`~events.base.DomainEvent`). Decoding an older version
runs the class's upcasters; anything that cannot be decoded raises a typed
:class:`DecodeError` so that consumers can park it with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from events.base import EVENT_TYPES, DomainEvent

_encoder = msgspec.json.Encoder()
_raw_decoder = msgspec.json.Decoder(dict[str, Any])


class DecodeError(Exception):
    """An event that this process cannot turn back into a domain event."""

    reason = "undecodable"


class UnknownEventType(DecodeError):
    reason = "unknown-type"


class NewerEventVersion(DecodeError):
    reason = "newer-version"


class CorruptPayload(DecodeError):
    reason = "corrupt-payload"


#: each event class's topic, as :func:`topic_of` first made it (one is needed for every event saved)
_topics: dict[type[DomainEvent], str] = {}


def topic_of(event: DomainEvent) -> str:
    cls = type(event)
    topic = _topics.get(cls)
    if topic is None:
        topic = _topics[cls] = f"{cls.type_name()}@{cls.class_version}"
    return topic


def split_topic(topic: str) -> tuple[str, int]:
    name, sep, version = topic.rpartition("@")
    if not sep or not name or not version.isdigit():
        raise UnknownEventType(f"malformed event topic {topic!r}")
    return name, int(version)


def encode(event: DomainEvent) -> tuple[str, bytes]:
    return topic_of(event), _encoder.encode(event)


#: a decoder for each topic of a current event version seen so far (the common case)
_current: dict[str, Callable[[bytes], DomainEvent]] = {}


def is_current(topic: str) -> bool:
    """Whether ``topic`` is the current version of its type, as far as :func:`decode` has seen:
    true once a payload of that topic has been decoded without upcasting."""
    return topic in _current


def decode(topic: str, payload: bytes) -> DomainEvent:
    current = _current.get(topic)
    if current is not None:
        try:
            return current(payload)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
            raise CorruptPayload(f"{topic}: {exc}") from exc
    import events.catalog  # noqa: F401  (every event type must be registered to decode)

    name, version = split_topic(topic)
    cls = EVENT_TYPES.resolve(name)
    if cls is None:
        raise UnknownEventType(f"unknown event type {name!r}")
    if version > cls.class_version:
        raise NewerEventVersion(
            f"{name} version {version} is newer than this process knows ({cls.class_version})"
        )
    if version == cls.class_version:
        _current[topic] = msgspec.json.Decoder(cls).decode
        return decode(topic, payload)
    try:
        state = _raw_decoder.decode(payload)
        for v in range(version, cls.class_version):
            getattr(cls, f"upcast_v{v}_v{v + 1}")(state)
        return msgspec.convert(state, type=cls)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        raise CorruptPayload(f"{name}@{version}: {exc}") from exc
