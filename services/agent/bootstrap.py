"""Wiring of the Podman agent: one place that builds it, registers it and runs its loops.

Start: the Podman API (started if nobody serves it), the node's capacity and images,
registration with the manager, then the agent's own history (decisions replayed,
facts read back), one reconciliation, and the loops: heartbeats, decisions,
periodic reconciliation (which also notices new images), telemetry, logs/exec.
Stopping the agent leaves its containers running: the next start adopts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal
from uuid import UUID

import nats
from nats.aio.client import Client as NATS

from events.subjects import heartbeat_subject
from services.agent.accelerator_binding import PluginAccelerators
from services.agent.accelerators.loading import load_plugins
from services.agent.container_spec import NodeLimits
from services.agent.cpusets import CpuSets
from services.agent.decisions import DecisionFollower
from services.agent.image_store import PodmanImageStore
from services.agent.kernels import KernelSupervisor
from services.agent.log_archive import LogArchive
from services.agent.node import architecture, cpu_cores, memory_bytes
from services.agent.podman_service import PodmanService
from services.agent.reporting import FactReporter
from services.agent.rpc import AgentRpc
from services.agent.runtime import PodmanRuntime
from services.agent.settings import AgentSettings
from services.agent.telemetry import KernelMetrics, TelemetrySampler
from services.manager.client import ManagerClient, RegistrationFailed
from services.manager.scheduler.slots import ResourceSlots

log = logging.getLogger("berth.agent")

VERSION = "berth-agent 0.1.0"


class AgentError(Exception):
    """The agent cannot run, for a reason the operator can act on."""


def _capacity(settings: AgentSettings, accelerators: PluginAccelerators) -> dict[str, str]:
    reserved = ResourceSlots.parse({"mem": settings.mem_reserved}).get("mem", Decimal(0))
    cpu = settings.cpu or str(len(cpu_cores()))
    mem = settings.mem or str(max(memory_bytes() - int(reserved), 0))
    offered = ResourceSlots.parse({"cpu": cpu, "mem": mem}).to_json()
    offered.update({k: str(v) for k, v in accelerators.slots().items()})
    return offered


class PodmanAgent:
    def __init__(self, settings: AgentSettings, nc: NATS, stop: asyncio.Event) -> None:
        self.settings = settings
        self.nc = nc
        self.stop = stop
        self.runtime = PodmanRuntime(f"unix://{settings.podman_socket}")
        self.images = PodmanImageStore(self.runtime)
        self.accelerators = PluginAccelerators(load_plugins(settings.accelerators))
        self.capacity = _capacity(settings, self.accelerators)
        self.agent_id: UUID | None = None

    async def register(self, patience: float = 120.0) -> UUID:
        s = self.settings
        try:
            agent_id = await ManagerClient(self.nc).register_agent(
                patience=patience,
                name=s.name,
                resource_group=s.resource_group,
                architecture=architecture(),
                capacity=dict(self.capacity),
                images=self.images.names(),
                version=VERSION,
            )
        except RegistrationFailed as exc:
            raise AgentError(str(exc)) from None
        await self.nc.publish(heartbeat_subject(agent_id), b"")
        return agent_id

    async def heartbeats(self, agent_id: UUID) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(Exception):
                await self.nc.publish(heartbeat_subject(agent_id), b"")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.settings.heartbeat_interval)

    async def reconcile_periodically(self, supervisor: KernelSupervisor) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.settings.reconcile_interval)
            if self.stop.is_set():
                return
            try:
                if await supervisor.call(self.images.refresh):
                    await self.register()  # the manager learns the new inventory
                await supervisor.reconcile()
            except Exception:
                log.exception("reconciliation failed; trying again later")

    async def run(self) -> None:
        s = self.settings
        await asyncio.to_thread(self.images.refresh)
        agent_id = await self.register()
        self.agent_id = agent_id
        log.info(
            "agent %s (%s) registered in %r offering %s",
            s.name,
            agent_id,
            s.resource_group,
            ", ".join(f"{k}={v}" for k, v in sorted(self.capacity.items())),
        )
        js = self.nc.jetstream()
        reporter = FactReporter(js, agent_id, self.stop)
        supervisor = KernelSupervisor(
            agent_id=agent_id,
            agent_name=s.name,
            runtime=self.runtime,
            reporter=reporter,
            cpusets=CpuSets(cpu_cores()),
            accelerators=self.accelerators,
            images=self.images,
            archive=LogArchive(s.state_dir / "logs"),
            limits=NodeLimits(
                pids_limit=s.pids_limit,
                shm_bytes=int(ResourceSlots.parse({"mem": s.shm})["mem"]),
                network=s.network,
            ),
            stop_timeout=s.stop_timeout,
            workers=s.workers,
        )
        beating = asyncio.create_task(self.heartbeats(agent_id))
        follower = DecisionFollower(self.nc, agent_id)
        rpc = AgentRpc(self.nc, supervisor)
        metrics = KernelMetrics()
        if s.metrics_port:
            metrics.serve(s.metrics_host, s.metrics_port)
        try:
            await reporter.load()
            after = await follower.replay(supervisor.fold)
            steps = await supervisor.reconcile()
            log.info("reconciled at start: %s", ", ".join(st.action for st in steps) or "nothing")
            await rpc.start()
            sampler = TelemetrySampler(self.nc, supervisor, metrics, s.telemetry_interval)
            tasks = [
                asyncio.create_task(follower.follow(after, supervisor.decide, self.stop)),
                asyncio.create_task(self.reconcile_periodically(supervisor)),
                asyncio.create_task(sampler.run(self.stop)),
            ]
            stopped = asyncio.create_task(self.stop.wait())
            await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
            self.stop.set()
            results = await asyncio.gather(*tasks, stopped, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
        finally:
            self.stop.set()
            await beating
            await rpc.close()
            await supervisor.close()


async def run_agent(settings: AgentSettings, stop: asyncio.Event) -> None:
    service = PodmanService(settings.podman_socket, settings.state_dir / "podman-service.log")
    await asyncio.to_thread(service.ensure)
    try:
        nc = await nats.connect(settings.nats_url, max_reconnect_attempts=-1)
        try:
            await PodmanAgent(settings, nc, stop).run()
        finally:
            await nc.close()
    finally:
        await asyncio.to_thread(service.stop)
