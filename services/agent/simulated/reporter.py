"""Reports facts to ``BERTH_FACTS`` when they come due, pipelined.

Each fact's ``Nats-Msg-Id`` is derived from its kernel and kind
(``<kernel-id>.KernelStarted``), so a fact sent twice (a retry, a restart) is
stored once by JetStream's de-duplication.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import APIError

from events.facts import AnyFact, encode_fact, fact_msg_id, fact_subject
from events.subjects import MSG_ID_HEADER
from services.agent.simulated.kernels import Due, FleetModel
from services.agent.simulated.timeline import Timeline

log = logging.getLogger("berth.sim")

#: most publishes in flight before waiting for their acknowledgements
PIPELINE = 1000


class FactReporter:
    def __init__(
        self,
        js: JetStreamContext,
        model: FleetModel,
        clock: Callable[[], float] = time.monotonic,
        ack_timeout: float = 10.0,
    ) -> None:
        self._js = js
        self._model = model
        self._clock = clock
        self._ack_timeout = ack_timeout
        self._timeline = Timeline()
        self._wake = asyncio.Event()
        self.reported = 0

    def plan(self, dues: list[Due]) -> None:
        if dues:
            self._timeline.plan(self._clock(), dues)
            self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            now = self._clock()
            dues = self._timeline.pop_due(now)
            if dues:
                at = datetime.now(UTC)
                facts = [f for due in dues if (f := self._model.take(due, at)) is not None]
                await self._publish(facts, stop)
                continue
            next_at = self._timeline.next_at()
            timeout = 1.0 if next_at is None else min(max(next_at - now, 0.0), 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _publish(self, facts: list[AnyFact], stop: asyncio.Event) -> None:
        """Publish until every fact is acknowledged (retrying is safe: de-duplicated)."""
        for start in range(0, len(facts), PIPELINE):
            chunk = facts[start : start + PIPELINE]
            while True:
                try:
                    acks = [
                        await self._js.publish_async(
                            fact_subject(fact),
                            encode_fact(fact),
                            headers={MSG_ID_HEADER: fact_msg_id(fact)},
                        )
                        for fact in chunk
                    ]
                    await asyncio.wait_for(asyncio.gather(*acks), self._ack_timeout)
                except (NatsError, APIError, TimeoutError) as exc:
                    if stop.is_set():
                        return
                    log.warning("reporting %d facts failed (%r); retrying", len(chunk), exc)
                    await asyncio.sleep(0.5)
                    continue
                self.reported += len(chunk)
                break
