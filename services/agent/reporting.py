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
from nats.js import JetStreamContext
from nats.js.errors import APIError

from events.facts import AnyFact, decode_fact, encode_fact, fact_msg_id, fact_subject
from events.stream_reading import read_until
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
        last = int((await self._js.stream_info(FACTS_STREAM)).state.last_seq)
        async for msg in read_until(self._js, FACTS_STREAM, agent_facts(self._agent_id), last):
            with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
                fact = decode_fact(msg.data)
                kind = Reported(type(fact).__name__)
                self.reported.setdefault(fact.kernel_id, set()).add(kind)
