"""A live view of ``BERTH_EVENTS`` for the stack's terminal: one compact line per event.

It follows the stream with an ordered consumer (ephemeral, no acknowledgements,
re-created by the client after a gap), from a chosen sequence, and remembers
what it saw so that the demo can wait for the events its commands caused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

import events.catalog  # noqa: F401  (registers every event type, so all can be decoded)
from deploy.logs import StackLog
from events.codec import DecodeError, decode
from events.streams import EVENTS_STREAM
from events.subjects import EVENTS_WILDCARD, TOPIC_HEADER

_BASE_FIELDS = {"originator_id", "originator_version", "timestamp"}
_MAX_VALUE = 40


@dataclass(frozen=True)
class SeenEvent:
    seq: int
    kind: str
    aggregate_id: str
    name: str


def _compact(value: Any) -> str:
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def describe(msg: Msg) -> tuple[SeenEvent, str]:
    """The event a message carries, and a one-line description of it."""
    _, _, kind, aggregate_id, name = (msg.subject.split(".", 4) + [""] * 5)[:5]
    seq = msg.metadata.sequence.stream
    seen = SeenEvent(seq, kind, aggregate_id, name)
    topic = (msg.headers or {}).get(TOPIC_HEADER, "")
    head = f"#{seq:<5} {kind}/{aggregate_id[:8]} {name}"
    try:
        event = decode(topic, msg.data)
    except DecodeError as exc:
        return seen, f"{head}  (cannot decode: {exc.reason})"
    fields = msgspec.structs.asdict(event)
    details = " ".join(
        f"{key}={_compact(value)}"
        for key, value in fields.items()
        if key not in _BASE_FIELDS and value not in (None, "", {})
    )
    return seen, f"{head} v{event.originator_version}  {details}"


class EventTail:
    def __init__(self, js: JetStreamContext, log: StackLog, label: str = "events") -> None:
        self._js = js
        self._log = log
        self._label = label
        self.seen: list[SeenEvent] = []
        self._arrived = asyncio.Condition()
        self._sub: JetStreamContext.PushSubscription | None = None

    async def start(self, from_seq: int) -> None:
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(from_seq, 1)
        )
        self._sub = await self._js.subscribe(
            EVENTS_WILDCARD,
            stream=EVENTS_STREAM,
            cb=self._on_msg,
            config=config,
            ordered_consumer=True,
        )

    async def _on_msg(self, msg: Msg) -> None:
        seen, line = describe(msg)
        self._log.line(self._label, line)
        async with self._arrived:
            self.seen.append(seen)
            self._arrived.notify_all()

    async def wait_for(self, done: Callable[[list[SeenEvent]], bool], timeout: float) -> bool:
        """Wait until ``done(seen)`` holds; False if it still does not after ``timeout``."""
        try:
            async with asyncio.timeout(timeout), self._arrived:
                await self._arrived.wait_for(lambda: done(self.seen))
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None
