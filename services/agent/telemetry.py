"""Per-kernel utilisation: sampled from Podman, published live, exposed to Prometheus.

Not events: every few seconds an :class:`AgentTelemetry` goes out on core NATS
(``berth.telemetry.<agent-id>``) for the gateway, and the same figures are served
as Prometheus gauges on the agent's metrics port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

import msgspec
from nats.aio.client import Client as NATS
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from events.agent_rpc import AgentTelemetry, KernelUsage, telemetry_subject
from services.agent.kernels import KernelSupervisor

log = logging.getLogger("berth.agent")

LABELS = ("session_id", "kernel_id")


class KernelMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.cpu = Gauge(
            "berth_kernel_cpu_percent",
            "CPU used, percent of one CPU",
            LABELS,
            registry=self.registry,
        )
        self.mem = Gauge("berth_kernel_memory_bytes", "Memory used", LABELS, registry=self.registry)
        self.mem_limit = Gauge(
            "berth_kernel_memory_limit_bytes", "Memory limit", LABELS, registry=self.registry
        )
        self.accel = Gauge(
            "berth_kernel_accelerator_util_percent",
            "Accelerator utilisation",
            (*LABELS, "device"),
            registry=self.registry,
        )
        self.kernels = Gauge(
            "berth_agent_kernels", "Kernels running on this agent", registry=self.registry
        )
        self._seen: set[tuple[str, str]] = set()

    def update(self, usages: list[KernelUsage]) -> None:
        now: set[tuple[str, str]] = set()
        for usage in usages:
            key = (str(usage.session_id), str(usage.kernel_id))
            now.add(key)
            self.cpu.labels(*key).set(usage.cpu_percent)
            self.mem.labels(*key).set(usage.mem_bytes)
            self.mem_limit.labels(*key).set(usage.mem_limit_bytes)
            for device, figures in usage.accelerators.items():
                self.accel.labels(*key, device).set(figures.get("util_percent", 0.0))
        for gone in self._seen - now:
            for gauge in (self.cpu, self.mem, self.mem_limit):
                with contextlib.suppress(KeyError):
                    gauge.remove(*gone)
        self._seen = now
        self.kernels.set(len(usages))

    def serve(self, host: str, port: int) -> None:
        start_http_server(port, addr=host, registry=self.registry)


class TelemetrySampler:
    def __init__(
        self, nc: NATS, supervisor: KernelSupervisor, metrics: KernelMetrics, interval: float
    ) -> None:
        self._nc = nc
        self._sup = supervisor
        self._metrics = metrics
        self._interval = interval

    async def sample(self) -> AgentTelemetry:
        usages: list[KernelUsage] = []
        for run in list(self._sup.runs.values()):
            if run.ended.is_set():
                continue
            stats = await self._sup.call(self._sup.runtime.stats, run.container_id)
            if stats is None:
                continue
            kid = run.kernel.kernel_id
            usages.append(
                KernelUsage(
                    session_id=run.kernel.session_id,
                    kernel_id=kid,
                    cpu_percent=float(stats.get("CPU") or 0.0),
                    mem_bytes=int(stats.get("MemUsage") or 0),
                    mem_limit_bytes=int(stats.get("MemLimit") or 0),
                    accelerators=self._sup.accelerators.usage(kid),
                )
            )
        self._metrics.update(usages)
        return AgentTelemetry(
            agent_id=self._sup.agent_id, observed_at=datetime.now(UTC), kernels=usages
        )

    async def run(self, stop: asyncio.Event) -> None:
        subject = telemetry_subject(self._sup.agent_id)
        while not stop.is_set():
            try:
                telemetry = await self.sample()
                await self._nc.publish(subject, msgspec.json.encode(telemetry))
            except Exception:
                log.exception("sampling telemetry failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
