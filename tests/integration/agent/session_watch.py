"""What a user watching ``BERTH_EVENTS`` sees of sessions and agents, collected for assertions."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from events.base import DomainEvent
from events.codec import decode
from events.streams import EVENTS_STREAM
from events.subjects import EVENTS_WILDCARD, TOPIC_HEADER


class StreamWatch:
    """Every event on the stream, by aggregate id, in stream order."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self.by_id: dict[str, list[DomainEvent]] = defaultdict(list)
        self._changed = asyncio.Condition()
        self._sub: JetStreamContext.PushSubscription | None = None

    async def start(self) -> None:
        self._sub = await self._js.subscribe(
            EVENTS_WILDCARD,
            stream=EVENTS_STREAM,
            cb=self._on_msg,
            ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )

    async def _on_msg(self, msg: Msg) -> None:
        event = decode((msg.headers or {})[TOPIC_HEADER], msg.data)
        async with self._changed:
            self.by_id[str(event.originator_id)].append(event)
            self._changed.notify_all()

    def names(self, aggregate_id: str) -> list[str]:
        return [type(e).__name__ for e in self.by_id.get(aggregate_id, [])]

    def last(self, aggregate_id: str, name: str) -> DomainEvent:
        return [e for e in self.by_id[aggregate_id] if type(e).__name__ == name][-1]

    async def wait_for(self, done: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(done)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None

    async def wait_event(self, aggregate_id: str, name: str, timeout: float = 90.0) -> DomainEvent:
        await self.wait_for(lambda: name in self.names(aggregate_id), f"{name} of {aggregate_id}")
        return self.last(aggregate_id, name)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
