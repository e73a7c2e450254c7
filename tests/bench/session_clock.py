"""When each step of a session's start happened, as seen from ``BERTH_EVENTS`` and ``BERTH_FACTS``.

Two ordered push consumers in the benchmark's process, started at the streams'
current ends: one on every session event (``berth.ev.session.>``), one on every
fact the agents report (``berth.fact.>``). For each session it keeps:

- per event: its arrival time here (``time.monotonic()`` in the callback) and the
  time the manager decided it (the event's own ``timestamp``);
- per fact: the time the agent observed it (``observed_at``).

Everything runs on one machine, so the wall clocks agree and the stages of a start
can be told apart: deciding, relaying, the agent's Podman calls, ingesting facts.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from events.facts import decode_fact
from events.streams import EVENTS_STREAM, FACTS_STREAM
from events.subjects import FACTS_WILDCARD, events_filter


class _Stamped(msgspec.Struct):
    timestamp: datetime
    #: a batch session's outcome, on ``SessionTerminated``
    result: str = ""


@dataclass
class Seen:
    #: ``time.monotonic()`` when the event arrived here
    arrived: float
    #: wall-clock seconds when the manager decided it
    decided: float


@dataclass
class SessionTrace:
    events: dict[str, Seen] = field(default_factory=dict)
    #: fact name → wall-clock seconds the agent observed it (first kernel)
    facts: dict[str, float] = field(default_factory=dict)
    #: the first kernel's id, from its facts
    kernel_id: str = ""
    #: event name → the ``result`` it carries ("success", "failure", …), where it has one
    results: dict[str, str] = field(default_factory=dict)


class SessionClock:
    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self.traces: dict[str, SessionTrace] = defaultdict(SessionTrace)
        self._changed = asyncio.Condition()
        self._subs: list[JetStreamContext.PushSubscription] = []

    async def start(self) -> None:
        for stream, subject, cb in (
            (EVENTS_STREAM, events_filter("session", "*", "*"), self._on_event),
            (FACTS_STREAM, FACTS_WILDCARD, self._on_fact),
        ):
            last = (await self._js.stream_info(stream)).state.last_seq
            sub = await self._js.subscribe(
                subject,
                stream=stream,
                cb=cb,
                ordered_consumer=True,
                config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=last + 1
                ),
            )
            self._subs.append(sub)

    async def stop(self) -> None:
        for sub in self._subs:
            await sub.unsubscribe()

    async def _on_event(self, msg: Msg) -> None:
        arrived = time.monotonic()
        _, _, _, session_id, name = msg.subject.split(".", 4)
        stamped = msgspec.json.decode(msg.data, type=_Stamped)
        async with self._changed:
            trace = self.traces[session_id]
            trace.events.setdefault(name, Seen(arrived, stamped.timestamp.timestamp()))
            if stamped.result:
                trace.results.setdefault(name, stamped.result)
            self._changed.notify_all()

    async def _on_fact(self, msg: Msg) -> None:
        fact = decode_fact(msg.data)
        trace = self.traces[str(fact.session_id)]
        trace.kernel_id = trace.kernel_id or str(fact.kernel_id)
        trace.facts.setdefault(type(fact).__name__, fact.observed_at.timestamp())

    def seen(self, session_id: str, event: str) -> Seen | None:
        trace = self.traces.get(session_id)
        return None if trace is None else trace.events.get(event)

    def count(self, event: str) -> int:
        return sum(1 for trace in self.traces.values() if event in trace.events)

    async def wait_for(self, session_id: str, events: tuple[str, ...], timeout: float) -> str:
        """The first of ``events`` the session reaches; TimeoutError after ``timeout`` s."""

        def reached() -> str | None:
            trace = self.traces.get(session_id)
            if trace is None:
                return None
            return next((e for e in events if e in trace.events), None)

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: reached() is not None)
        found = reached()
        assert found is not None
        return found

    async def wait_count(self, event: str, count: int, timeout: float) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.count(event) >= count)
