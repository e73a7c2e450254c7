"""The agent benchmark: Berth's session start and batch throughput against raw Podman.

One run, one machine, one image, the same container limits on both sides
(``raw_podman.py`` builds them with the agent's own code). On the real stack
(``agent_stack.py``: nats-server, the manager, one Podman agent, a Podman API
service) it measures:

**(a) start latency**, one container at a time, the three kinds interleaved so
that the machine's other load falls on all of them alike:

- raw: the wall time of ``podman run -d …`` (the container is removed afterwards,
  outside the measured time);
- raw API: create + start through the same Podman API service the agent uses, with
  podman-py: the agent's own floor;
- Berth: an interactive session requested as the first administrator, from the
  request sent to its ``SessionRunning`` arriving from ``BERTH_EVENTS``; it is then
  destroyed (and its end awaited) before the next.

Stages of Berth's start come from the same stream and from the agent's facts
(``session_clock.py``).

**(b) throughput** of short batch containers (``/bin/sh -c true``): N ``podman run
--rm`` at each concurrency asked for, against N batch sessions requested at once,
from the first request to the last ``SessionTerminated`` on the stream; then the best
raw concurrency once more, so that the raw reference brackets Berth's run.

Targets (information only, never failing a run): Berth's start p50 and p99 at most
1.15 times raw; Berth's throughput at least 90 % of the best raw concurrency (the mean
of its two runs).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from images.build import build_images
from services.manager.client import ManagerClient
from tests.bench.agent_stack import Stack, running_stack
from tests.bench.cpu import TICKS, CpuMeter, CpuUse
from tests.bench.projection_process import REPO_ROOT
from tests.bench.raw_podman import Container, RawPodman
from tests.bench.scheduler import percentiles
from tests.bench.session_clock import SessionClock, SessionTrace

LATENCY_TARGET = 1.15
THROUGHPUT_TARGET = 0.90
BATCH_COMMAND = "true"
ENDED = ("SessionTerminated", "SessionErrored", "SessionCancelled")


@dataclass(frozen=True)
class Options:
    sessions: int = 50
    warmup: int = 3
    batch: int = 200
    concurrency: tuple[int, ...] = (1, 2, 4, 8)
    network: str = "none"
    store: str = "sqlite"
    image: str = "berth-small"
    cpu: str = "0.25"
    mem: str = "64m"
    pg_admin_dsn: str = ""
    #: seconds to wait for any one session step (and for a whole batch) before giving up
    patience: float = 300.0


@dataclass
class Latency:
    raw_ms: list[float] = field(default_factory=list)
    api_ms: list[float] = field(default_factory=list)
    berth_ms: list[float] = field(default_factory=list)
    #: per stage of Berth's start, one sample per session (ms)
    stages: dict[str, list[float]] = field(default_factory=dict)
    #: the agent's own timings from its log: total (decision → started), create, init, start
    agent_ms: dict[str, list[float]] = field(default_factory=dict)
    kernel_ids: set[str] = field(default_factory=set)


@dataclass
class Throughput:
    #: containers (and sessions) in each batch
    count: int
    #: concurrency → seconds for the whole batch of raw ``podman run --rm``
    raw_s: dict[int, float] = field(default_factory=dict)
    raw_cpu: dict[int, CpuUse] = field(default_factory=dict)
    #: the best concurrency's batch run once more, after Berth's (seconds; 0 when not run)
    raw_again_s: float = 0.0
    berth_s: float = 0.0
    berth_results: dict[str, int] = field(default_factory=dict)
    #: the most kernels that existed at once (created, not yet exited), from the facts
    berth_peak_kernels: int = 0
    berth_cpu: CpuUse | None = None

    def raw_rate(self, concurrency: int) -> float:
        return self.count / self.raw_s[concurrency]

    @property
    def berth_rate(self) -> float:
        return self.count / self.berth_s if self.berth_s else 0.0

    def best_raw(self) -> tuple[int, float] | None:
        """(concurrency, containers/s) of the fastest raw run."""
        if not self.raw_s:
            return None
        best = min(self.raw_s, key=lambda c: self.raw_s[c])
        return best, self.raw_rate(best)

    def raw_reference(self) -> float | None:
        """Containers/s the target is judged against: the best raw run, with its rerun after
        Berth's where there is one (their mean)."""
        best = self.best_raw()
        if best is None:
            return None
        if not self.raw_again_s:
            return best[1]
        return (best[1] + self.count / self.raw_again_s) / 2

    def ratio(self) -> float | None:
        reference = self.raw_reference()
        return self.berth_rate / reference if reference and self.berth_s else None


@dataclass
class AgentBenchResult:
    options: Options
    latency: Latency
    throughput: Throughput
    podman_version: str = ""


# -- (a) start latency -------------------------------------------------------------------


#: (name, from, to); a point is the request sent ("sent"), an event decided ("event") or
#: arriving here ("arrived"), or a fact observed by the agent ("fact")
STAGES: tuple[tuple[str, tuple[str, str], tuple[str, str]], ...] = (
    ("request → placed (decided)", ("sent", ""), ("event", "SessionScheduled")),
    (
        "placed → on the stream (relay)",
        ("event", "SessionScheduled"),
        ("arrived", "SessionScheduled"),
    ),
    (
        "on the stream → container created (agent)",
        ("arrived", "SessionScheduled"),
        ("fact", "KernelCreated"),
    ),
    ("created → started (agent)", ("fact", "KernelCreated"), ("fact", "KernelStarted")),
    (
        "started → RUNNING decided (fact ingested)",
        ("fact", "KernelStarted"),
        ("event", "SessionRunning"),
    ),
    (
        "decided → RUNNING on the stream (relay)",
        ("event", "SessionRunning"),
        ("arrived", "SessionRunning"),
    ),
)


def _offset(
    trace: SessionTrace, point: tuple[str, str], sent_mono: float, sent_wall: float
) -> float | None:
    """Seconds from the request to a point of the session's start."""
    kind, name = point
    if kind == "sent":
        return 0.0
    if kind == "fact":
        at = trace.facts.get(name)
        return None if at is None else at - sent_wall
    seen = trace.events.get(name)
    if seen is None:
        return None
    return seen.arrived - sent_mono if kind == "arrived" else seen.decided - sent_wall


async def _berth_start(
    stack: Stack, clock: SessionClock, options: Options, index: int, latency: Latency | None
) -> None:
    client = ManagerClient(stack.nc, timeout=30)
    sent_mono, sent_wall = time.monotonic(), time.time()
    reply = await client.request_session(
        actor=stack.admin,
        name=f"latency-{index}",
        image=options.image,
        resources={"cpu": options.cpu, "mem": options.mem},
    )
    if not reply.ok or reply.session_id is None:
        raise RuntimeError(f"session request refused: {reply.error}")
    session_id = reply.session_id
    reached = await clock.wait_for(session_id, ("SessionRunning", *ENDED), options.patience)
    if reached != "SessionRunning":
        raise RuntimeError(f"session {session_id} ended before it ran ({reached})")
    running = clock.seen(session_id, "SessionRunning")
    assert running is not None
    if latency is not None:
        latency.berth_ms.append((running.arrived - sent_mono) * 1000)
        trace = clock.traces[session_id]
        latency.kernel_ids.add(trace.kernel_id)
        for name, start, end in STAGES:
            a = _offset(trace, start, sent_mono, sent_wall)
            b = _offset(trace, end, sent_mono, sent_wall)
            if a is not None and b is not None:
                latency.stages.setdefault(name, []).append((b - a) * 1000)
    destroyed = await client.destroy_session(session_id, actor=stack.admin)
    if not destroyed.ok:
        raise RuntimeError(f"destroying {session_id} refused: {destroyed.error}")
    await clock.wait_for(session_id, ENDED, options.patience)


async def measure_latency(
    stack: Stack,
    clock: SessionClock,
    raw: RawPodman,
    options: Options,
    progress: Callable[[str], None],
) -> Latency:
    latency = Latency()
    total = options.warmup + options.sessions
    for i in range(total):
        keep = i >= options.warmup
        raw_s = await asyncio.to_thread(raw.start_detached)
        api_s = await asyncio.to_thread(raw.start_through_api)
        await _berth_start(stack, clock, options, i, latency if keep else None)
        if keep:
            latency.raw_ms.append(raw_s * 1000)
            latency.api_ms.append(api_s * 1000)
        if (i + 1) % 10 == 0:
            progress(f"start latency: {i + 1}/{total} of each kind")
    latency.agent_ms = stack.agent_start_times(latency.kernel_ids)
    return latency


# -- (b) throughput ----------------------------------------------------------------------


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children: the raw ``podman run`` processes."""
    with open("/proc/self/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / TICKS


def _peak_overlap(traces: list[SessionTrace]) -> int:
    moments: list[tuple[float, int]] = []
    for trace in traces:
        created, exited = trace.facts.get("KernelCreated"), trace.facts.get("KernelExited")
        if created is not None and exited is not None:
            moments += [(created, 1), (exited, -1)]
    peak = current = 0
    for _, step in sorted(moments):
        current += step
        peak = max(peak, current)
    return peak


async def berth_batch(
    stack: Stack, clock: SessionClock, options: Options, throughput: Throughput
) -> None:
    client = ManagerClient(stack.nc, timeout=120)
    batch_id = uuid.uuid4().hex[:8]

    async def request(i: int) -> str:
        reply = await client.request_session(
            actor=stack.admin,
            name=f"batch-{batch_id}-{i}",
            image=options.image,
            session_type="batch",
            startup_command=BATCH_COMMAND,
            resources={"cpu": options.cpu, "mem": options.mem},
        )
        if not reply.ok or reply.session_id is None:
            raise RuntimeError(f"batch session request refused: {reply.error}")
        return reply.session_id

    meter = CpuMeter(stack.pids() | {"bench": os.getpid()})
    began = time.monotonic()
    session_ids = await asyncio.gather(*(request(i) for i in range(options.batch)))
    ended: list[float] = []
    for session_id in session_ids:
        reached = await clock.wait_for(session_id, ENDED, options.patience)
        seen = clock.seen(session_id, reached)
        assert seen is not None
        ended.append(seen.arrived)
        result = clock.traces[session_id].results.get(reached, "") or reached
        throughput.berth_results[result] = throughput.berth_results.get(result, 0) + 1
    throughput.berth_s = max(ended) - began
    throughput.berth_cpu = meter.read()
    throughput.berth_peak_kernels = _peak_overlap([clock.traces[s] for s in session_ids])


async def measure_throughput(
    stack: Stack,
    clock: SessionClock,
    raw: RawPodman,
    options: Options,
    progress: Callable[[str], None],
) -> Throughput:
    throughput = Throughput(options.batch)
    for concurrency in options.concurrency:
        progress(f"throughput: {options.batch} raw podman run --rm, {concurrency} at a time")
        seconds, cpu = await _raw_batch(raw, options, concurrency)
        throughput.raw_s[concurrency] = seconds
        throughput.raw_cpu[concurrency] = cpu
    progress(f"throughput: {options.batch} Berth batch sessions, requested at once")
    await berth_batch(stack, clock, options, throughput)
    best = throughput.best_raw()
    if best is not None:
        # The machine's other load drifts: the best raw concurrency once more, after Berth,
        # brackets Berth's run, and the target is judged against the two runs' mean.
        progress(f"throughput: the best raw concurrency ({best[0]}) again, after Berth")
        throughput.raw_again_s, _ = await _raw_batch(raw, options, best[0])
    return throughput


async def _raw_batch(raw: RawPodman, options: Options, concurrency: int) -> tuple[float, CpuUse]:
    meter = CpuMeter({"bench": os.getpid()})
    before = children_cpu_seconds()
    seconds = await raw.run_batch(options.batch, concurrency, BATCH_COMMAND)
    cpu = meter.read()
    cli = {"podman CLI": children_cpu_seconds() - before}
    return seconds, dataclasses.replace(cpu, processes=cli | cpu.processes)


# -- the run -----------------------------------------------------------------------------


def _podman_env() -> None:
    # Podman needs the project's settings on this kind of host (runc, cgroupfs, ulimits);
    # ./dev sets them, a bare `python -m tests.bench` may not have.
    os.environ.setdefault("CONTAINERS_CONF", str(REPO_ROOT / "deploy/podman/containers.conf"))


async def run(options: Options, progress: Callable[[str], None]) -> AgentBenchResult:
    _podman_env()
    await asyncio.to_thread(build_images, [options.image], say=progress)
    async with running_stack(
        store=options.store,
        network=options.network,
        pg_admin_dsn=options.pg_admin_dsn,
        progress=progress,
    ) as stack:
        clock = SessionClock(stack.nc.jetstream())
        await clock.start()
        container = Container(
            image=options.image,
            cpu=options.cpu,
            mem=options.mem,
            network=options.network,
            cores=tuple(range(os.cpu_count() or 1)),
        )
        raw = RawPodman(container, stack.api.url)
        try:
            with stack.podman_client() as client:
                version = str(client.version().get("Version", "unknown"))  # type: ignore[no-untyped-call]
            progress(
                f"start latency: {options.warmup} warm-ups, then {options.sessions} of each kind"
            )
            latency = await measure_latency(stack, clock, raw, options, progress)
            throughput = await measure_throughput(stack, clock, raw, options, progress)
        finally:
            await clock.stop()
            await asyncio.to_thread(raw.sweep)
    return AgentBenchResult(options, latency, throughput, version)


def latency_summary(latency: Latency) -> dict[str, dict[str, float]]:
    return {
        "raw": percentiles(latency.raw_ms),
        "api": percentiles(latency.api_ms),
        "berth": percentiles(latency.berth_ms),
    }
