"""Following this node's decisions: ``berth.ev.agent.<its-id>.>`` on ``BERTH_EVENTS``.

At start the agent replays its own subject from the beginning: that is its
``AgentNode`` aggregate's history, the desired state reconciliation compares
Podman against. Then a durable pull consumer of its own (``agent-<id>``) delivers
what comes after, acknowledged once acted upon. The durable is re-created at the
replay's end on every start, so nothing decided before is delivered twice.

Live decisions are read with ``PullReader`` (one pull request always outstanding),
not nats-py's ``fetch``: a ``fetch`` whose first probe is answered by the status of
an earlier, expired request turns into a long pull that holds a message that
arrives until its whole timeout has passed, which delayed a few percent of
container starts by up to a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from uuid import UUID

from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from events.base import DomainEvent
from events.codec import DecodeError, decode
from events.delivery import Delivered
from events.pull import follow_consumer
from events.stream_reading import read_until
from events.streams import EVENTS_STREAM
from events.subjects import TOPIC_HEADER, agent_events

log = logging.getLogger("berth.agent")

OnEvent = Callable[[DomainEvent], None]


def durable_name(agent_id: UUID) -> str:
    return f"agent-{agent_id}"


class DecisionFollower:
    def __init__(self, nc: NATS, agent_id: UUID) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self._agent_id = agent_id
        self._subject = agent_events(agent_id)

    def _decode(
        self, data: bytes, headers: dict[str, str] | None, subject: str
    ) -> DomainEvent | None:
        try:
            return decode((headers or {}).get(TOPIC_HEADER, ""), data)
        except DecodeError as exc:
            log.warning("decision %s cannot be decoded: %s", subject, exc.reason)
            return None

    async def replay(self, on_event: OnEvent) -> int:
        """Every decision so far, in order; returns the stream sequence replayed up to."""
        last = int((await self._js.stream_info(EVENTS_STREAM)).state.last_seq)
        count = 0
        async for msg in read_until(self._js, EVENTS_STREAM, self._subject, last):
            event = self._decode(msg.data, msg.headers, msg.subject)
            if event is not None:
                on_event(event)
                count += 1
        log.info("replayed %d decisions of this agent (up to stream sequence %d)", count, last)
        return last

    async def follow(self, after: int, on_event: OnEvent, stop: asyncio.Event) -> None:
        durable = durable_name(self._agent_id)
        with contextlib.suppress(NotFoundError):
            await self._js.delete_consumer(EVENTS_STREAM, durable)
        await self._js.add_consumer(
            EVENTS_STREAM,
            ConsumerConfig(
                durable_name=durable,
                filter_subject=self._subject,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=after + 1,
                ack_policy=AckPolicy.ALL,
                max_ack_pending=10_000,
            ),
        )

        def handle(msgs: Sequence[Delivered]) -> None:
            for msg in msgs:
                event = self._decode(msg.data, msg.headers, msg.subject)
                if event is not None:
                    on_event(event)

        await follow_consumer(
            self._nc,
            EVENTS_STREAM,
            durable,
            handle,
            stop,
            batch_size=256,
            what="following decisions",
        )
