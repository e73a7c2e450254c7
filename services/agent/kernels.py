"""``KernelSupervisor``: turns this node's decisions into containers, and containers into facts.

Each kernel goes: assigned → container created (``KernelCreated``) → started
(``KernelStarted``) → exited (``KernelExited`` with its exit code and why) →
its output archived → container removed. A termination request stops the
container; a batch timeout does the same with the reason "timeout". Every Podman
call runs on a worker thread; each running container has one thread of its own
that waits for it to end.

The supervisor never creates a kernel twice: the container's name is the
kernel's id (Podman refuses a second one), and reconciliation consults the facts
already reported before creating anything.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from events.agent import KernelAssigned, KernelReleased, KernelTerminationRequested
from events.base import DomainEvent
from events.facts import KernelCreated, KernelExited, KernelFailed, KernelStarted
from services.agent.container_spec import (
    LABEL_ACCELERATORS,
    LABEL_CPUSET,
    NodeLimits,
    create_options,
)
from services.agent.cpusets import CpuSets, parse_cpuset
from services.agent.desired import DesiredKernel, DesiredState
from services.agent.log_archive import LogArchive
from services.agent.oom import OomWatcher
from services.agent.ports import AcceleratorBinder, AllocationRefused, ImageStore
from services.agent.reconcile import FINISHED, Action, ObservedContainer, Reported, Step, plan
from services.agent.reporting import FactReporter
from services.agent.runtime import ContainerInfo, PodmanRuntime, RuntimeFailure

log = logging.getLogger("berth.agent")
T = TypeVar("T")

NEVER_STARTED = "terminated before it started"


@dataclass
class KernelRun:
    """One kernel with a container on this node."""

    kernel: DesiredKernel
    container_id: str
    #: why the agent itself stopped it ("terminated", "timeout: …"); "" if it ended by itself
    stop_detail: str = ""
    oom: OomWatcher | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    timeout: asyncio.TimerHandle | None = None
    #: ``time.monotonic()`` when this agent took up the decision, and how long the
    #: create call took (for the start's log line; None for an adopted container)
    launched_at: float | None = None
    create_s: float = 0.0


class KernelSupervisor:
    def __init__(
        self,
        *,
        agent_id: UUID,
        agent_name: str,
        runtime: PodmanRuntime,
        reporter: FactReporter,
        cpusets: CpuSets,
        accelerators: AcceleratorBinder,
        images: ImageStore,
        archive: LogArchive,
        limits: NodeLimits,
        stop_timeout: float = 10.0,
        workers: int = 8,
    ) -> None:
        self.agent_id = agent_id
        self.agent_name = agent_name
        self.runtime = runtime
        self.reporter = reporter
        self.cpusets = cpusets
        self.accelerators = accelerators
        self.images = images
        self.archive = archive
        self.limits = limits
        self.stop_timeout = stop_timeout
        self.desired = DesiredState()
        self.runs: dict[UUID, KernelRun] = {}
        self._busy: set[UUID] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="podman")
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- plumbing ---------------------------------------------------------------------

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)

    def spawn(self, work: Awaitable[None], what: str) -> None:
        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", what)

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for run in self.runs.values():
            if run.timeout is not None:
                run.timeout.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _now(self) -> datetime:
        return datetime.now(UTC)

    async def _fail(self, assigned: KernelAssigned, reason: str) -> None:
        log.warning("kernel %s failed: %s", assigned.kernel_id, reason)
        await self.reporter.report(
            KernelFailed(
                agent_id=self.agent_id,
                observed_at=self._now(),
                session_id=assigned.session_id,
                kernel_id=assigned.kernel_id,
                reason=reason,
            )
        )

    async def _exited(self, kernel: DesiredKernel, code: int | None, detail: str) -> None:
        await self.reporter.report(
            KernelExited(
                agent_id=self.agent_id,
                observed_at=self._now(),
                session_id=kernel.session_id,
                kernel_id=kernel.kernel_id,
                exit_code=code,
                detail=detail,
            )
        )

    def _release_local(self, kernel_id: UUID) -> None:
        self.cpusets.release(kernel_id)
        self.accelerators.release(kernel_id)

    # -- decisions --------------------------------------------------------------------

    def fold(self, event: DomainEvent) -> None:
        """Replay: update what should run, do nothing (reconciliation acts afterwards)."""
        self.desired.apply(event)

    def decide(self, event: DomainEvent) -> None:
        """A live decision: update what should run and act on it."""
        kernel = self.desired.apply(event)
        match event:
            case KernelAssigned() if kernel is not None:
                kid = kernel.kernel_id
                done = self.reporter.reported.get(kid, set()) & FINISHED
                if kid not in self.runs and kid not in self._busy and not done:
                    self._start_launch(kernel)
            case KernelTerminationRequested() if kernel is not None:
                self.spawn(self._terminate(kernel, kernel.termination), "terminating a kernel")
            case KernelReleased():
                log.info("kernel %s released", event.kernel_id)

    # -- one kernel's life ------------------------------------------------------------

    def _start_launch(self, kernel: DesiredKernel) -> None:
        # Busy from now, not from when the task first runs: a reconciliation in
        # between must not plan a second creation of the same kernel.
        self._busy.add(kernel.kernel_id)
        self.spawn(self._launch(kernel), f"starting kernel {kernel.kernel_id}")

    async def _launch(self, kernel: DesiredKernel) -> None:
        kid, assigned = kernel.kernel_id, kernel.assignment
        launched = time.monotonic()
        try:
            ref = self.images.resolve(assigned.image)
            if ref is None and self.images.refresh():
                ref = self.images.resolve(assigned.image)
            if ref is None:
                await self._fail(
                    assigned, f"image {assigned.image!r} is not on agent {self.agent_name}"
                )
                return
            try:
                cores = self.cpusets.allocate(kid, Decimal(assigned.slots.get("cpu", "1")))
                accelerators = self.accelerators.allocate(kid, assigned.slots)
            except AllocationRefused as exc:
                self._release_local(kid)
                await self._fail(assigned, str(exc))
                return
            options = create_options(
                assigned,
                agent_id=self.agent_id,
                image_ref=ref,
                cpuset=cores,
                accelerators=accelerators,
                limits=self.limits,
            )
            creating = time.monotonic()
            try:
                container_id = await self.call(self.runtime.create, options)
            except RuntimeFailure as exc:
                self._release_local(kid)
                await self._fail(assigned, str(exc))
                return
            run = KernelRun(
                kernel, container_id, launched_at=launched, create_s=time.monotonic() - creating
            )
            self.runs[kid] = run
            await self.reporter.report(
                KernelCreated(
                    agent_id=self.agent_id,
                    observed_at=self._now(),
                    session_id=kernel.session_id,
                    kernel_id=kid,
                    container_id=container_id,
                )
            )
            await self._start_container(run)
        finally:
            self._busy.discard(kid)
        if kernel.termination:
            await self._terminate(kernel, kernel.termination)

    async def _start_container(self, run: KernelRun) -> None:
        kernel = run.kernel
        if kernel.termination:
            await self._discard(run, NEVER_STARTED)
            return
        try:
            initialising = time.monotonic()
            cgroup = await self.call(self.runtime.init, run.container_id)
            self._watch_memory(run, cgroup)
            starting = time.monotonic()
            await self.call(self.runtime.start, run.container_id)
            started = time.monotonic()
        except RuntimeFailure as exc:
            await self.call(self.runtime.remove, run.container_id)
            self.runs.pop(kernel.kernel_id, None)
            self._release_local(kernel.kernel_id)
            await self._fail(kernel.assignment, str(exc))
            return
        await self._watch(run)
        await self._report_started(run)
        if run.launched_at is not None:
            # Where a start's time goes, for operators and the agent benchmark.
            log.info(
                "kernel %s started %.0f ms after its decision"
                " (create %.0f, init %.0f, start %.0f ms)",
                kernel.kernel_id,
                (started - run.launched_at) * 1000,
                run.create_s * 1000,
                (starting - initialising) * 1000,
                (started - starting) * 1000,
            )

    async def _resume(self, kernel: DesiredKernel, info: ContainerInfo) -> None:
        """A container the agent created but did not get to start before it stopped."""
        kid = kernel.kernel_id
        try:
            self.cpusets.restore(kid, parse_cpuset(info.labels.get(LABEL_CPUSET, "")))
            self.accelerators.restore(kid, info.labels.get(LABEL_ACCELERATORS, ""))
            run = KernelRun(kernel, info.container_id)
            self.runs[kid] = run
            if Reported.CREATED not in self.reporter.reported.get(kid, set()):
                await self.reporter.report(
                    KernelCreated(
                        agent_id=self.agent_id,
                        observed_at=self._now(),
                        session_id=kernel.session_id,
                        kernel_id=kid,
                        container_id=info.container_id,
                    )
                )
            await self._start_container(run)
        finally:
            self._busy.discard(kid)

    async def _report_started(self, run: KernelRun) -> None:
        kernel = run.kernel
        await self.reporter.report(
            KernelStarted(
                agent_id=self.agent_id,
                observed_at=self._now(),
                session_id=kernel.session_id,
                kernel_id=kernel.kernel_id,
            )
        )
        run.started.set()
        timeout = kernel.assignment.batch_timeout
        if timeout and kernel.assignment.session_type == "batch":
            detail = f"timeout: batch timeout of {timeout:g}s reached"
            run.timeout = asyncio.get_running_loop().call_later(
                timeout, lambda: self.spawn(self._stop(run, detail), "batch timeout")
            )

    def _watch_memory(self, run: KernelRun, cgroup_path: str) -> None:
        if cgroup_path and run.oom is None:
            watcher = OomWatcher(cgroup_path)
            if watcher.start():
                run.oom = watcher

    async def _watch(self, run: KernelRun) -> None:
        """Wait for the end of the container on a thread of its own."""
        loop = asyncio.get_running_loop()

        def wait() -> None:
            try:
                self.runtime.wait(run.container_id)
            except Exception:
                log.exception("waiting for container %s failed", run.container_id)
                return
            loop.call_soon_threadsafe(
                lambda: self.spawn(self._on_exit(run), f"ending kernel {run.kernel.kernel_id}")
            )

        threading.Thread(target=wait, name=f"wait-{run.container_id[:12]}", daemon=True).start()

    async def _on_exit(self, run: KernelRun) -> None:
        if run.ended.is_set():
            return
        run.ended.set()
        if run.timeout is not None:
            run.timeout.cancel()
        info = await self.call(self.runtime.inspect, run.container_id)
        code = info.exit_code if info is not None else None
        oom = info is not None and info.oom_killed
        if not oom and run.oom is not None:
            oom = await asyncio.to_thread(run.oom.result)
        detail = run.stop_detail
        if oom and not detail:
            mem = run.kernel.assignment.slots.get("mem", "0")
            detail = f"oom-killed: the kernel reached its memory limit of {int(Decimal(mem))} bytes"
        await self._discard(run, detail, code)

    async def _discard(self, run: KernelRun, detail: str, code: int | None = None) -> None:
        """Archive the output, report the exit, remove the container, free its resources."""
        kid = run.kernel.kernel_id
        output = await self.call(self.runtime.logs, run.container_id)
        if output is not None:
            await asyncio.to_thread(self.archive.save, kid, output)
        if not run.started.is_set() and detail != NEVER_STARTED:
            # A container that ended at once still reports, in order, that it started.
            await self._report_started(run)
        # Its processes are gone, so its devices and cores are free: before the exit is
        # reported, because the manager may place the next kernel on them at once.
        self._release_local(kid)
        await self._exited(run.kernel, code, detail)
        await self.call(self.runtime.remove, run.container_id)
        self.runs.pop(kid, None)
        log.info("kernel %s ended (exit code %s%s)", kid, code, f", {detail}" if detail else "")

    async def _stop(self, run: KernelRun, detail: str) -> None:
        if run.ended.is_set():
            return
        run.stop_detail = run.stop_detail or detail
        try:
            await self.call(self.runtime.stop, run.container_id, self.stop_timeout)
        except RuntimeFailure as exc:
            log.warning("stopping kernel %s: %s", run.kernel.kernel_id, exc)

    async def _terminate(self, kernel: DesiredKernel, reason: str) -> None:
        kid = kernel.kernel_id
        run = self.runs.get(kid)
        if run is not None:
            await self._stop(run, "terminated")
            return
        if kid in self._busy:
            return  # the launch sees the request when it is done, and stops the kernel
        if not self.reporter.reported.get(kid, set()) & FINISHED:
            await self._exited(kernel, None, NEVER_STARTED)

    # -- reconciliation ---------------------------------------------------------------

    async def reconcile(self) -> list[Step]:
        """Make Podman match the decisions; returns what was done."""
        # Kernels handled before the listing are left alone: the listing may show
        # a container as it was before their handling went on.
        before = self._busy | set(self.runs)
        infos = await self.call(self.runtime.kernel_containers, self.agent_id)
        by_id = {info.container_id: info for info in infos}
        observed = [
            ObservedContainer(i.container_id, i.kernel_id, i.running, i.exit_code, i.fresh)
            for i in infos
        ]
        busy = frozenset(before | self._busy | set(self.runs))
        steps = plan(self.desired, observed, self.reporter.reported, busy)
        for step in steps:
            await self._carry_out(step, by_id.get(step.container_id))
        return steps

    async def _carry_out(self, step: Step, info: ContainerInfo | None) -> None:
        kid = step.kernel_id
        kernel = self.desired.kernels.get(kid) if kid is not None else None
        if step.action is Action.REMOVE_ORPHAN:
            log.info("removing orphan container %s (kernel %s)", step.container_id[:12], kid)
            if kid is not None and not self.archive.has(kid):
                output = await self.call(self.runtime.logs, step.container_id)
                if output is not None:
                    await asyncio.to_thread(self.archive.save, kid, output)
            await self.call(self.runtime.remove, step.container_id)
            if kid is not None:
                self._release_local(kid)
            return
        if kernel is None:
            return
        if step.action is Action.CREATE:
            self._start_launch(kernel)
        elif step.action is Action.REPORT_NEVER_STARTED:
            await self._exited(kernel, None, NEVER_STARTED)
        elif step.action is Action.REPORT_VANISHED:
            await self._fail(
                kernel.assignment, "the kernel's container disappeared while nobody watched it"
            )
        elif step.action is Action.START and info is not None:
            self._busy.add(kernel.kernel_id)
            self.spawn(self._resume(kernel, info), f"starting kernel {kernel.kernel_id}")
        elif info is not None:
            await self._adopt(kernel, info, running=step.action is Action.ADOPT)

    async def _adopt(self, kernel: DesiredKernel, info: ContainerInfo, *, running: bool) -> None:
        kid = kernel.kernel_id
        self.cpusets.restore(kid, parse_cpuset(info.labels.get(LABEL_CPUSET, "")))
        self.accelerators.restore(kid, info.labels.get(LABEL_ACCELERATORS, ""))
        run = KernelRun(kernel, info.container_id)
        self.runs[kid] = run
        if kernel.termination:
            run.stop_detail = "terminated"
        reported = self.reporter.reported.get(kid, set())
        if Reported.CREATED not in reported:
            await self.reporter.report(
                KernelCreated(
                    agent_id=self.agent_id,
                    observed_at=self._now(),
                    session_id=kernel.session_id,
                    kernel_id=kid,
                    container_id=info.container_id,
                )
            )
        if not running:
            log.info("kernel %s ended while the agent was away; reporting it", kid)
            if Reported.STARTED in reported:
                run.started.set()
            await self._on_exit(run)
            return
        log.info("adopting running kernel %s", kid)
        self._watch_memory(run, info.cgroup_path)
        await self._watch(run)
        if Reported.STARTED in reported:
            run.started.set()
            timeout = kernel.assignment.batch_timeout
            if timeout and kernel.assignment.session_type == "batch":
                detail = f"timeout: batch timeout of {timeout:g}s reached"
                run.timeout = asyncio.get_running_loop().call_later(
                    timeout, lambda: self.spawn(self._stop(run, detail), "batch timeout")
                )
        else:
            await self._report_started(run)
        if kernel.termination:
            await self._stop(run, "terminated")
