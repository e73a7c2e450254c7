"""Following the decisions addressed to the simulated agents, and picking up after a restart.

A real agent consumes only its own subject, ``berth.ev.agent.<its-id>.>``, with a
durable consumer of its own. A fleet of a thousand simulated agents would need a
thousand consumers; instead it uses ONE durable pull consumer on
``berth.ev.agent.>`` and drops, in-process, what is meant for other agents.

After a restart the fleet rebuilds what its agents were running from the
streams themselves: the decisions up to the durable consumer's acknowledged
position (``BERTH_EVENTS``) and the facts it had already reported
(``BERTH_FACTS``); then each kernel reports what it still owes. The consumer is
re-created from that position so that nothing in flight waits for a redelivery
timeout. Re-sent facts carry the same ``Nats-Msg-Id`` and are dropped by
JetStream, and the manager ignores facts it already knows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from uuid import UUID

import msgspec
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from events.codec import DecodeError, decode
from events.delivery import Delivered, Received
from events.facts import decode_fact
from events.pull import follow_consumer
from events.stream_reading import read_until
from events.streams import EVENTS_STREAM, FACTS_STREAM
from events.subjects import FACTS_WILDCARD, TOPIC_HEADER, agent_events
from services.agent.simulated.kernels import FleetModel
from services.agent.simulated.reporter import FactReporter

log = logging.getLogger("berth.sim")

ALL_AGENT_EVENTS = agent_events("*")
#: the only decisions a simulated agent acts on; others are acknowledged unread
FOLLOWED = frozenset({"KernelAssigned", "KernelTerminationRequested", "KernelReleased"})


def durable_name(prefix: str) -> str:
    return "sim-fleet-" + prefix.replace(".", "_")


def _agent_of(subject: str) -> tuple[str, str]:
    """``berth.ev.agent.<id>.<Event>`` → (id, Event)."""
    parts = subject.split(".")
    return (parts[3], parts[4]) if len(parts) == 5 else ("", "")


class DecisionFollower:
    def __init__(self, nc: NATS, model: FleetModel, reporter: FactReporter, prefix: str) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self._model = model
        self._reporter = reporter
        self._durable = durable_name(prefix)
        self._own: set[str] = set()

    def _apply(self, msg: Received, *, plan: bool = True) -> bool:
        """Apply one message to the model; True when it is one of ours that we follow."""
        agent, name = _agent_of(msg.subject)
        if name not in FOLLOWED or agent not in self._own:
            return False
        topic = (msg.headers or {}).get(TOPIC_HEADER, "")
        try:
            event = decode(topic, msg.data)
        except DecodeError as exc:
            log.warning("decision %s cannot be decoded: %s", msg.subject, exc.reason)
            return False
        due = self._model.on_event(event)
        if plan:
            self._reporter.plan(due)
        return True

    async def _position(self) -> int:
        """The last stream sequence already handled; the durable is (re)created after it."""
        try:
            info = await self._js.consumer_info(EVENTS_STREAM, self._durable)
        except NotFoundError:
            # A first start: what is on the stream now was decided before any
            # of this fleet's kernels existed, unless it names them (replayed).
            return int((await self._js.stream_info(EVENTS_STREAM)).state.last_seq)
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        started = (info.config.opt_start_seq or 1) - 1
        await self._js.delete_consumer(EVENTS_STREAM, self._durable)
        return max(floor, started)

    async def recover(self) -> None:
        """Rebuild the model from the streams, plan what is owed, and open the durable consumer."""
        self._own = {str(a) for a in self._model.agents}
        handled = await self._position()
        await self._js.add_consumer(
            EVENTS_STREAM,
            ConsumerConfig(
                name=self._durable,
                durable_name=self._durable,
                filter_subject=ALL_AGENT_EVENTS,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=handled + 1,
                ack_policy=AckPolicy.ALL,
                max_ack_pending=50_000,
            ),
        )
        replayed = 0
        async for msg in read_until(self._js, EVENTS_STREAM, ALL_AGENT_EVENTS, handled):
            # State only: what is still owed is planned once, after the facts are read.
            replayed += self._apply(msg, plan=False)
        facts = await self._js.stream_info(FACTS_STREAM)
        own = {UUID(a) for a in self._own}
        async for msg in read_until(self._js, FACTS_STREAM, FACTS_WILDCARD, facts.state.last_seq):
            try:
                fact = decode_fact(msg.data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if fact.agent_id in own:
                self._model.reported(fact)
        owed = self._model.resume()
        self._reporter.plan(owed)
        log.info(
            "following decisions after stream sequence %d (%d replayed; %d kernels, %d facts owed)",
            handled,
            replayed,
            len(self._model.kernels),
            len(owed),
        )

    async def run(self, stop: asyncio.Event, batch: int = 512) -> None:
        await self.recover()

        def handle(msgs: Sequence[Delivered]) -> None:
            for msg in msgs:
                self._apply(msg)

        await follow_consumer(
            self._nc,
            EVENTS_STREAM,
            self._durable,
            handle,
            stop,
            batch_size=batch,
            what="following decisions",
        )
