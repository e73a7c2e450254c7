"""The latest utilisation of every kernel, from the agents' telemetry on core NATS.

Telemetry is not an event (nothing decides on it), so it is not in the read
models: the gateway listens to ``berth.telemetry.*`` and keeps, per agent, only
its latest report. A report replaces the agent's previous one whole, so kernels
that ended drop out; reports older than ``max_age`` are not served.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from events.agent_rpc import TELEMETRY_WILDCARD, AgentTelemetry, KernelUsage

log = logging.getLogger("berth.gateway")


@dataclass(frozen=True)
class KernelTelemetry:
    agent_id: UUID
    observed_at: datetime
    usage: KernelUsage


class TelemetryCache:
    def __init__(self, max_age: float = 120.0) -> None:
        self._max_age = max_age
        self._by_agent: dict[UUID, AgentTelemetry] = {}
        self._by_kernel: dict[UUID, KernelTelemetry] = {}
        self._subscription: Subscription | None = None

    async def start(self, nc: NATS) -> None:
        self._subscription = await nc.subscribe(TELEMETRY_WILDCARD, cb=self._received)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None

    async def _received(self, msg: Msg) -> None:
        try:
            report = msgspec.json.decode(msg.data, type=AgentTelemetry)
        except msgspec.DecodeError as exc:
            log.warning("ignoring malformed telemetry on %s: %s", msg.subject, exc)
            return
        self.record(report)

    def record(self, report: AgentTelemetry) -> None:
        previous = self._by_agent.get(report.agent_id)
        if previous is not None:
            if previous.observed_at > report.observed_at:
                return  # an older report arriving late
            for usage in previous.kernels:
                self._by_kernel.pop(usage.kernel_id, None)
        self._by_agent[report.agent_id] = report
        for usage in report.kernels:
            self._by_kernel[usage.kernel_id] = KernelTelemetry(
                agent_id=report.agent_id, observed_at=report.observed_at, usage=usage
            )

    def kernel(self, kernel_id: UUID, now: datetime | None = None) -> KernelTelemetry | None:
        found = self._by_kernel.get(kernel_id)
        now = now or datetime.now(UTC)
        if found is None or (now - found.observed_at).total_seconds() > self._max_age:
            return None
        return found
