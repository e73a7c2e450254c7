"""Reports what the agent observes to ``BERTH_FACTS``, and remembers what it reported.

A fact is published until JetStream acknowledges it (retrying is safe: its
``Nats-Msg-Id`` is per kernel and kind, so a repeat is dropped). What was reported
is also read back from the stream at start, so that reconciliation knows which
kernels already finished and never creates one twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

import msgspec
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError

from events.facts import AnyFact, decode_fact, encode_fact, fact_msg_id, fact_subject
from events.streams import FACTS_STREAM
from events.subjects import MSG_ID_HEADER, agent_facts
from services.agent.reconcile import Reported

log = logging.getLogger("berth.agent")


class FactReporter:
    def __init__(self, js: JetStreamContext, agent_id: UUID, stop: asyncio.Event) -> None:
        self._js = js
        self._agent_id = agent_id
        self._stop = stop
        self.reported: dict[UUID, set[Reported]] = {}

    async def report(self, fact: AnyFact) -> None:
        payload = encode_fact(fact)
        headers = {MSG_ID_HEADER: fact_msg_id(fact)}
        while True:
            try:
                await self._js.publish(fact_subject(fact), payload, headers=headers, timeout=5.0)
            except (NatsError, APIError, TimeoutError) as exc:
                if self._stop.is_set():
                    raise
                log.warning("reporting %s failed (%r); retrying", type(fact).__name__, exc)
                await asyncio.sleep(0.5)
                continue
            self.reported.setdefault(fact.kernel_id, set()).add(Reported(type(fact).__name__))
            return

    async def load(self) -> None:
        """Read back every fact this agent reported (after a restart)."""
        info = await self._js.stream_info(FACTS_STREAM)
        last = info.state.last_seq
        if last == 0:
            return
        sub = await self._js.pull_subscribe(
            agent_facts(self._agent_id),
            stream=FACTS_STREAM,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=30.0,
            ),
        )
        try:
            if (await sub.consumer_info()).num_pending == 0:
                return
            while True:
                try:
                    msgs = await sub.fetch(1000, timeout=2.0)
                except (NatsTimeout, TimeoutError):
                    return
                for msg in msgs:
                    with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
                        fact = decode_fact(msg.data)
                        kind = Reported(type(fact).__name__)
                        self.reported.setdefault(fact.kernel_id, set()).add(kind)
                    if msg.metadata.num_pending == 0 or msg.metadata.sequence.stream >= last:
                        return
        finally:
            with contextlib.suppress(NatsError):
                await sub.unsubscribe()
