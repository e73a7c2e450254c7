"""The scheduler benchmark: session requests placed onto simulated agents, on the real stack.

For each store backend and each queue order, on fresh state (a nats-server of
its own, a new SQLite file or PostgreSQL database), it starts the manager
(``python -m services.manager serve``: commands, scheduler, fact ingestion,
relay) and a simulated fleet (``python -m services.agent.simulated``) as
processes, creates a resource group with that queue order, lets the fleet
register into it, and then sends N session requests, 64 in flight, as the first
administrator. Every session fits (1 CPU, 1 GiB on agents of 64 CPUs, 256 GiB),
so capacity is free throughout. It measures:

- placements per second: from the first request sent to the N-th
  ``SessionScheduled`` received from ``BERTH_EVENTS``;
- per session, the time from its request being sent to its ``SessionScheduled``
  arriving from the stream (p50/p99), and to the decision itself (the event's
  timestamp), which splits the wait into deciding and relaying;
- the request rate (first request sent to last reply);
- the manager's peak memory (VmHWM from /proc) and CPU time per placement.

The sessions are interactive, so the simulated kernels report created and
started (two facts per session) and keep running: fact ingestion competes with
placement, as it does in a live cluster. Priority runs spread priorities over
-10..10; DRF orders by dominant share per user, and with one user it orders as
FIFO does (its cost is still paid). Nothing is judged on time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import msgspec
import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from events.streams import EVENTS_STREAM
from events.subjects import events_filter
from services.manager.client import ManagerClient
from tests.bench.cpu import CpuMeter, CpuUse
from tests.bench.projection_process import REPO_ROOT
from tests.bench.scratch import (
    nats_server,
    pg_unreachable_reason,
    stop_process,
    store_env,
)
from tests.bench.spy import sampled

BACKENDS = ("sqlite", "postgres")
ORDERS = ("fifo", "lifo", "drf", "priority")
TARGET_PLACEMENTS = {"sqlite": 2000.0, "postgres": 1000.0}
TARGET_P99_MS = 200.0
SESSION = {"cpu": 1, "mem": "1g"}
FLEET_PREFIX = "bench"


@dataclass(frozen=True)
class Options:
    requests: int = 10_000
    agents: int = 1_000
    orders: tuple[str, ...] = ORDERS
    in_flight: int = 64
    #: requests per second, paced (open loop); 0 sends as fast as answers come back
    rate: float = 0.0
    pg_admin_dsn: str = ""
    #: seconds to wait for every placement before reporting what was placed
    patience: float = 300.0
    #: when set, py-spy samples the manager while it places, writing collapsed stacks here
    profile_dir: Path | None = None
    seed: int = 7


@dataclass
class RunResult:
    backend: str
    order: str
    requests: int
    agents: int
    skipped: str | None = None
    placed: int = 0
    registration_s: float = 0.0
    request_rate: float = 0.0
    placements_per_s: float = 0.0
    #: request sent → SessionScheduled received from the stream (ms)
    to_stream_ms: dict[str, float] = field(default_factory=dict)
    #: request sent → decision recorded (the event's timestamp; ms)
    to_decision_ms: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    #: events the stream received while the requests were placed (and answered by the fleet)
    events: int = 0
    cpu: CpuUse | None = None
    log_dir: str = ""


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {"p50": at(0.50), "p99": at(0.99), "max": ordered[-1], "mean": statistics.fmean(values)}


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MiB; 0 when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Child:
    """A Berth process of the benchmark, logging to a file of its own."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *args],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def said(self, text: str) -> bool:
        return text in self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.proc, timeout=30)


async def until(check: Callable[[], bool], what: str, child: Child, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if child.proc.poll() is not None or time.monotonic() > deadline:
            tail = child.log_path.read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError(f"{what} did not happen; {child.log_path.name}:\n" + "\n".join(tail))
        await asyncio.sleep(0.1)


class Placements:
    """``SessionScheduled`` events as they arrive from the stream: when, and when decided."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.decided: dict[str, float] = {}
        self.all_in = asyncio.Event()
        self.expected = 0

    async def on_msg(self, msg: Msg) -> None:
        now = time.monotonic()
        session_id = msg.subject.split(".")[3]
        stamp = msgspec.json.decode(msg.data, type=dict[str, object])["timestamp"]
        self.arrived[session_id] = now
        self.decided[session_id] = datetime.fromisoformat(str(stamp)).timestamp()
        if len(self.arrived) >= self.expected:
            self.all_in.set()


@dataclass
class Sent:
    mono: float
    wall: float
    session_id: str = ""


async def _send_requests(
    nc: NATS, admin: str, group: str, options: Options, order: str
) -> tuple[list[Sent], float]:
    client = ManagerClient(nc, timeout=60)
    rng = random.Random(options.seed)
    priorities = [
        rng.randint(-10, 10) if order == "priority" else 0 for _ in range(options.requests)
    ]
    sent: list[Sent] = [Sent(0.0, 0.0) for _ in range(options.requests)]
    next_index = iter(range(options.requests))
    last_reply = 0.0
    began = time.monotonic()

    async def worker() -> None:
        nonlocal last_reply
        for i in next_index:
            if options.rate > 0:
                await asyncio.sleep(max(0.0, began + i / options.rate - time.monotonic()))
            sent[i] = Sent(time.monotonic(), time.time())
            reply = await client.request_session(
                actor=admin,
                name=f"s{i}",
                image="python",
                resources=SESSION,
                resource_group=group,
                priority=priorities[i],
            )
            if not reply.ok or reply.session_id is None:
                raise RuntimeError(f"request {i} refused: {reply.error}")
            sent[i].session_id = reply.session_id
            last_reply = max(last_reply, time.monotonic())

    await asyncio.gather(*(worker() for _ in range(options.in_flight)))
    return sent, last_reply


async def run_one(
    backend: str, order: str, options: Options, progress: Callable[[str], None]
) -> RunResult:
    result = RunResult(backend, order, options.requests, options.agents)
    if backend == "postgres" and (why := pg_unreachable_reason(options.pg_admin_dsn)):
        result.skipped = why
        return result
    work = Path(tempfile.mkdtemp(prefix=f"berth-sched-{backend}-{order}-"))
    result.log_dir = str(work)
    with (
        nats_server(work) as natsd,
        store_env(backend, work, options.pg_admin_dsn, "sched") as store_vars,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
        env |= {"BERTH_DATA_DIR": str(work), "BERTH_NATS_URL": natsd.url, "PYTHONUNBUFFERED": "1"}
        env |= store_vars
        manager = Child("manager", ["-m", "services.manager", "serve"], env, work)
        fleet: Child | None = None
        nc = await nats.connect(natsd.url)
        try:
            credentials = work / "admin-credentials.json"
            await until(credentials.exists, "the manager's first start", manager, 60)
            await until(lambda: manager.said("relay started"), "the manager's start", manager, 60)
            admin = json.loads(credentials.read_text())["access_key"]
            group = f"bench-{order}"
            created = await ManagerClient(nc).create_resource_group(
                actor=admin, name=group, queue_order=order
            )
            if not created.ok:
                raise RuntimeError(f"resource group refused: {created.error}")
            progress(f"{backend}/{order}: registering {options.agents} simulated agents")
            began = time.monotonic()
            fleet_args = ["-m", "services.agent.simulated", "--agents", str(options.agents)]
            fleet_args += ["--prefix", FLEET_PREFIX, "--resource-group", group]
            fleet_args += ["--cpu", "64", "--mem", "256g", "--images", "python"]
            fleet = Child("fleet", fleet_args, env, work)
            await until(
                lambda: fleet is not None and fleet.said("following decisions"),
                "the fleet's registration",
                fleet,
                300,
            )
            result.registration_s = time.monotonic() - began

            placements = Placements()
            placements.expected = options.requests
            js = nc.jetstream()
            last_seq = (await js.stream_info(EVENTS_STREAM)).state.last_seq
            sub = await js.subscribe(
                events_filter("session", "*", "SessionScheduled"),
                stream=EVENTS_STREAM,
                cb=placements.on_msg,
                ordered_consumer=True,
                config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=last_seq + 1
                ),
            )
            pids = {"manager": manager.proc.pid, "fleet": fleet.proc.pid, "nats": natsd.pid}
            meter = CpuMeter(pids | {"bench": os.getpid()})
            progress(f"{backend}/{order}: sending {options.requests} requests")
            spied = {"manager": manager.proc.pid}
            with sampled(spied, options.profile_dir, f"{backend}-{order}"):
                sent, last_reply = await _send_requests(nc, admin, group, options, order)
                await _all_placed(placements, options, progress, f"{backend}/{order}")
            first = min(s.mono for s in sent)
            result.request_rate = options.requests / max(last_reply - first, 1e-9)
            result.cpu = meter.read()
            result.peak_rss_mb = peak_rss_mb(manager.proc.pid)
            result.events = (await js.stream_info(EVENTS_STREAM)).state.last_seq - last_seq
            await sub.unsubscribe()
            _figures(result, sent, placements, first)
        finally:
            await nc.close()
            if fleet is not None:
                fleet.stop()
            manager.stop()
    # Only a failed run keeps its logs (an exception above leaves them for the reader).
    shutil.rmtree(work, ignore_errors=True)
    result.log_dir = ""
    return result


async def _all_placed(
    placements: Placements, options: Options, progress: Callable[[str], None], what: str
) -> None:
    try:
        await asyncio.wait_for(placements.all_in.wait(), options.patience)
    except TimeoutError:
        progress(f"{what}: only {len(placements.arrived)} placed in time")


def _figures(result: RunResult, sent: list[Sent], placements: Placements, first: float) -> None:
    to_stream, to_decision = [], []
    for s in sent:
        arrived = placements.arrived.get(s.session_id)
        if arrived is None:
            continue
        to_stream.append((arrived - s.mono) * 1000)
        to_decision.append((placements.decided[s.session_id] - s.wall) * 1000)
    result.placed = len(to_stream)
    if to_stream:
        last = max(placements.arrived.values())
        result.placements_per_s = result.placed / max(last - first, 1e-9)
    result.to_stream_ms = percentiles(to_stream)
    result.to_decision_ms = percentiles(to_decision)


def format_result(result: RunResult) -> str:
    title = {"sqlite": "SQLite", "postgres": "PostgreSQL"}.get(result.backend, result.backend)
    head = f"== {title}, {result.order} =="
    if result.skipped:
        return f"{head}\n  skipped: {result.skipped}"
    target = TARGET_PLACEMENTS[result.backend]
    stream, decided = result.to_stream_ms, result.to_decision_ms
    lines = [
        head,
        f"  agents registered in {result.registration_s:.1f}s ({result.agents} agents)",
        f"  requests answered     {result.request_rate:8.0f} /s  ({result.requests} requests)",
        f"  placements            {result.placements_per_s:8.0f} /s  ({result.placed} placed;"
        f" target ≥ {target:.0f}/s: {'met' if result.placements_per_s >= target else 'NOT met'})",
    ]
    if stream:
        met = "met" if stream["p99"] < TARGET_P99_MS else "NOT met"
        lines.append(
            f"  request → on stream   p50 {stream['p50']:7.1f}  p99 {stream['p99']:7.1f}"
            f"  max {stream['max']:7.1f} ms  (target p99 < {TARGET_P99_MS:.0f} ms: {met})"
        )
        lines.append(
            f"  request → decided     p50 {decided['p50']:7.1f}  p99 {decided['p99']:7.1f}"
            f"  max {decided['max']:7.1f} ms"
        )
    lines.append(f"  manager peak RSS      {result.peak_rss_mb:8.0f} MiB")
    if result.placed:
        lines.append(
            f"  events on the stream  {result.events:8d}  ({result.events / result.placed:.1f} per"
            " placement, the fleet's facts included)"
        )
    if result.cpu is not None and result.placed:
        per = {n: s / result.placed * 1e6 for n, s in result.cpu.processes.items()}
        parts = ", ".join(f"{n} {v:.0f}" for n, v in per.items())
        lines.append(
            f"  CPU µs per placement: {parts}"
            f" (machine {result.cpu.machine_busy_share:.0%} busy over {result.cpu.wall_s:.1f}s)"
        )
    if result.log_dir:
        lines.append(f"  logs in {result.log_dir}")
    return "\n".join(lines)


def summary_table(results: list[RunResult]) -> str:
    rows = [
        "| store | order | requests/s | placements/s | p50 ms | p99 ms | peak RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.skipped:
            rows.append(f"| {r.backend} | {r.order} | skipped | | | | |")
            continue
        p = r.to_stream_ms or {"p50": float("nan"), "p99": float("nan")}
        rows.append(
            f"| {r.backend} | {r.order} | {r.request_rate:.0f} | {r.placements_per_s:.0f} |"
            f" {p['p50']:.0f} | {p['p99']:.0f} | {r.peak_rss_mb:.0f} |"
        )
    return "\n".join(rows)


async def run_all(
    backends: list[str], options: Options, progress: Callable[[str], None]
) -> list[RunResult]:
    results = []
    for backend in backends:
        for order in options.orders:
            result = await run_one(backend, order, options, progress)
            print(format_result(result), flush=True)
            results.append(result)
    return results


def as_json(options: Options, results: list[RunResult]) -> dict[str, object]:
    runs = []
    for r in results:
        plain = dataclasses.asdict(r)
        plain["targets"] = {
            "placements_per_s": TARGET_PLACEMENTS[r.backend],
            "placements_met": None
            if r.skipped
            else r.placements_per_s >= TARGET_PLACEMENTS[r.backend],
            "p99_ms": TARGET_P99_MS,
            "p99_met": None if not r.to_stream_ms else r.to_stream_ms["p99"] < TARGET_P99_MS,
        }
        runs.append(plain)
    return {
        "benchmark": "scheduler",
        "options": {
            "requests": options.requests,
            "agents": options.agents,
            "orders": list(options.orders),
            "in_flight": options.in_flight,
        },
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "runs": runs,
    }
