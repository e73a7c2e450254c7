"""What a committed batch changed in the read models, told on core NATS so readers need not poll.

After each batch commits, the runner publishes one :class:`ReadModelsChanged` on
``berth.rm.<group>`` naming each read model of the group with its new position,
and listing the events the batch took in (their aggregate, event name, aggregate
version, notification id and stream sequence). A reader (GraphQL subscriptions)
that receives it knows that each named model's tables already hold the listed
events up to its position, and queries them for the new state.

It is a hint, not a log: core NATS delivers at most once, and the runner never
waits for it or retries it, so it cannot delay or change what the runner
commits. Readers treat it as a wake-up and read the tables for everything newer
than what they have seen. During a rebuild the same notification ids come
again; readers skip ids at or below the highest they have seen.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping

import msgspec
from nats.aio.client import Client as NATS

from events.base import DomainEvent
from events.subjects import EVENTS_PREFIX
from projections.envelope import Envelope

log = logging.getLogger("berth.projections")

CHANGES_PREFIX = "berth.rm"
CHANGES_WILDCARD = f"{CHANGES_PREFIX}.*"
#: changes per message: a batch of any size goes as several messages, each well under NATS's
#: payload limit
CHUNK = 250


def changes_subject(group: str) -> str:
    return f"{CHANGES_PREFIX}.{group}"


class Change(msgspec.Struct, frozen=True, array_like=True):
    """One event a read model took in."""

    notification_id: int
    stream_seq: int
    #: the aggregate kind (``session``, ``agent``…), as the event's subject names it
    kind: str
    aggregate_id: str
    #: the event's class name (``SessionRunning``)
    event: str
    #: the aggregate's version after the event; None for a parked message that does not say
    version: int | None


class ReadModelsChanged(msgspec.Struct, frozen=True, kw_only=True):
    #: each read model of the group with its position once the batch committed: its tables
    #: include every change listed up to there
    positions: dict[str, int]
    changes: list[Change]


class _Head(msgspec.Struct):
    originator_version: int


_head_decoder = msgspec.json.Decoder(_Head)
#: how a payload begins as msgspec writes it (``DomainEvent``'s fields in their order); any
#: other spelling is decoded
_VERSION_AT_HEAD = re.compile(rb'\{"originator_id":"[^"\\]*","originator_version":([0-9]+)[,}]')
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ReadModelsChanged)
#: an event's subject is ``berth.ev.<kind>.<id>.<EventName>``: the tokens before the kind,
#: and all of them
_PREFIX_TOKENS = EVENTS_PREFIX.count(".") + 1
_SUBJECT_TOKENS = _PREFIX_TOKENS + 3
_NO_PARTS = ["", "", ""]


def decode_changed(payload: bytes) -> ReadModelsChanged:
    return _decoder.decode(payload)


def _version(payload: bytes) -> int | None:
    head = _VERSION_AT_HEAD.match(payload)
    if head is not None:
        return int(head[1])
    try:
        return _head_decoder.decode(payload).originator_version
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def change_of(
    notification_id: int, stream_seq: int, event: DomainEvent, aggregate_id: str
) -> Change:
    """The change of an event the batch decoded (``aggregate_id``: its originator id as text)."""
    cls = type(event)
    return Change(
        notification_id, stream_seq, cls.kind, aggregate_id, cls.__name__, event.originator_version
    )


def change_of_message(env: Envelope) -> Change:
    """The change of a message the batch could not decode (it was parked): the aggregate and
    event named by its subject, the version from its payload where that says one."""
    tokens = env.subject.split(".")
    kind, aggregate_id, event = (
        tokens[_PREFIX_TOKENS:] if len(tokens) == _SUBJECT_TOKENS else _NO_PARTS
    )
    assert env.notification_id is not None
    return Change(
        env.notification_id, env.stream_seq, kind, aggregate_id, event, _version(env.payload)
    )


def _chunks(changes: list[Change]) -> Iterator[list[Change]]:
    for start in range(0, len(changes), CHUNK):
        yield changes[start : start + CHUNK]


class ChangeAnnouncer:
    """Publishes a group's changes; never raises, never waits for the server."""

    def __init__(self, nc: NATS, group: str) -> None:
        self._nc = nc
        self._group = group
        self._subject = changes_subject(group)
        self._failing = False

    async def announce(self, positions: Mapping[str, int], changes: list[Change]) -> None:
        if not changes:
            return
        try:
            for chunk in _chunks(changes):
                message = ReadModelsChanged(positions=dict(positions), changes=chunk)
                await self._nc.publish(self._subject, _encoder.encode(message))
        except Exception as exc:
            # Readers fall back to their own re-reads; say so once per outage, not per batch.
            if not self._failing:
                log.warning("%s: change notification not sent: %s", self._group, exc)
            self._failing = True
        else:
            self._failing = False
