"""The gateway benchmark: signed session requests through the REST API, on the embedded stack.

On fresh state (a nats-server of its own, a new SQLite file or PostgreSQL
database) it starts the manager, the projection runner, a simulated fleet and
the gateway (``python -m services.gateway``) as processes, logs in as the first
administrator and sends N ``POST /v1/sessions``, ``concurrency`` in flight,
each signed as the SDK signs it. The SDK (``berth_sdk.AsyncClient``) sends the
warm-up; the measured requests come from a lean client
(:mod:`tests.bench.signed_load`, in ``--clients`` processes) that costs a small
part of what the gateway does, so the figure is the server's (``--client sdk``
measures with the SDK instead). It reports:

- creates per second: from the first request sent to the last answer;
- per request, the time to its ``201`` (p50, p99, max): the gateway checks the
  signature, sends the manager a command and answers once the decision is stored;
- the CPU each process spent per request, the client's included, and the
  machine's load average before and after (other work on the machine shows);
- next to them, the raw store write rate (``EventStore.save`` of prepared session
  requests, alone and in batches of 100) on a store of its own, the floor that
  every decided request stands on.

Every session fits (1 CPU, 64 MiB on agents with room for all of them), so the
scheduler places each, and the fleet reports it started, while requests arrive:
placement and fact ingestion compete with the requests, as in a live cluster.

``--manager stub`` measures the gateway alone: nats-server, the gateway and, in
this process, a stub that answers the keypair lookup and every session request
at once (:mod:`tests.bench.manager_stub`). The difference between the two runs is
what the rest of the stack costs. Nothing is judged on time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from berth_sdk import AsyncClient, BerthError, SessionSpec

from deploy.natsd import free_port
from services.manager.settings import StoreSettings
from tests.bench.cpu import CpuMeter
from tests.bench.gateway_report import RunResult, format_result
from tests.bench.manager_stub import ManagerStub
from tests.bench.raw import measure_single_saves, measure_store
from tests.bench.scheduler import Child, percentiles, until
from tests.bench.scratch import (
    DEFAULT_PG_ADMIN_DSN,
    nats_server,
    pg_database,
    pg_unreachable_reason,
    store_env,
)
from tests.bench.signed_load import LoadRun, Target, split
from tests.bench.spy import sampled

BACKENDS = ("sqlite", "postgres")
CLIENTS = ("lean", "sdk")
MANAGERS = ("real", "stub")
IMAGE = "berth-small"
SESSION = {"cpu": "1", "mem": "64m"}
FLEET = ["--agents", "4", "--prefix", "gwbench", "--cpu", "100000", "--mem", "10000g"]


@dataclass(frozen=True)
class Options:
    requests: int = 2000
    concurrency: int = 32
    #: requests sent (and not counted) before the clock starts: connections, caches
    warmup: int = 50
    #: ``lean`` (tests.bench.signed_load) or ``sdk`` (berth_sdk.AsyncClient, in this process)
    client: str = "lean"
    #: processes of the lean client
    clients: int = 1
    #: ``real`` (the whole stack) or ``stub`` (the gateway alone; see tests.bench.manager_stub)
    manager: str = "real"
    pg_admin_dsn: str = ""
    #: store saves for the raw figure (batched), and single saves within a time budget
    raw_events: int = 5000
    raw_singles: int = 1000
    #: py-spy samples of the stack's processes while measuring, written here
    profile_dir: Path | None = None


async def _gateway_ready(url: str, gateway: Child, timeout: float = 60) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if (await http.get("/v1/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if gateway.proc.poll() is not None or time.monotonic() > deadline:
                tail = gateway.log_path.read_text(errors="replace").splitlines()[-15:]
                raise RuntimeError("the gateway did not answer /v1/health:\n" + "\n".join(tail))
            await asyncio.sleep(0.1)


async def _send(
    berth: AsyncClient, count: int, concurrency: int, prefix: str
) -> tuple[list[float], dict[str, int], float]:
    """Latencies (s) of the accepted requests, the others by error code, and the wall time."""
    latencies: list[float] = []
    refused: dict[str, int] = {}
    numbers = iter(range(count))

    async def worker() -> None:
        for i in numbers:
            spec = SessionSpec(name=f"{prefix}{i}", image=IMAGE, resources=SESSION)
            sent = time.perf_counter()
            try:
                await berth.create_session(spec)
            except BerthError as exc:  # counted, not fatal: the figures say how many failed
                refused[exc.code] = refused.get(exc.code, 0) + 1
                continue
            latencies.append(time.perf_counter() - sent)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, refused, time.perf_counter() - began


async def run_one(backend: str, options: Options, progress: Callable[[str], None]) -> RunResult:
    result = RunResult(backend, options.requests, manager=options.manager)
    real = options.manager == "real"
    if real and backend == "postgres" and (why := pg_unreachable_reason(options.pg_admin_dsn)):
        result.skipped = why
        return result
    work = Path(tempfile.mkdtemp(prefix=f"berth-gwbench-{backend}-"))
    result.log_dir = str(work)
    with nats_server(work) as natsd:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
        env |= {"BERTH_DATA_DIR": str(work), "BERTH_NATS_URL": natsd.url, "PYTHONUNBUFFERED": "1"}
        env |= {"BERTH_GATEWAY_HOST": "127.0.0.1", "BERTH_GATEWAY_PORT": str(port)}
        stack = _Stack(backend, work, env, port, {"nats": natsd.pid}, natsd.url)
        if real:
            with store_env(backend, work, options.pg_admin_dsn, "gateway") as store_vars:
                stack.env |= store_vars
                await _behind_the_manager(stack, options, result, progress)
            progress(f"{backend}: the raw store write rate")
            with _raw_store(backend, work, options) as settings:
                figures, _ = await asyncio.to_thread(measure_store, settings, options.raw_events)
                singles = await asyncio.to_thread(
                    measure_single_saves, settings, options.raw_singles, 10.0
                )
            result.store_batched_eps = figures.batched_eps
            result.store_single_eps = singles.eps
        else:
            await _behind_a_stub(stack, options, result, progress)
    # Only a failed run keeps its logs (an exception above leaves them for the reader).
    shutil.rmtree(work, ignore_errors=True)
    result.log_dir = ""
    return result


@dataclass
class _Stack:
    backend: str
    work: Path
    env: dict[str, str]
    port: int
    #: process name → pid, for the CPU figures
    pids: dict[str, int]
    nats_url: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _behind_the_manager(
    stack: _Stack, options: Options, result: RunResult, progress: Callable[[str], None]
) -> None:
    """The manager, the projections, the fleet and the gateway, as the embedded stack runs."""
    env, work = stack.env, stack.work
    children: list[Child] = []
    try:
        manager = Child("manager", ["-m", "services.manager", "serve"], env, work)
        children.append(manager)
        credentials = work / "admin-credentials.json"
        await until(credentials.exists, "the manager's first start", manager, 60)
        children.append(Child("projections", ["-m", "projections"], env, work))
        fleet_args = ["-m", "services.agent.simulated", *FLEET, "--images", IMAGE]
        fleet = Child("fleet", fleet_args, env, work)
        children.append(fleet)
        gateway = Child("gateway", ["-m", "services.gateway"], env, work)
        children.append(gateway)
        await until(lambda: fleet.said("following decisions"), "the fleet's start", fleet, 60)
        await _gateway_ready(stack.url, gateway)
        stack.pids |= {c.log_path.stem: c.proc.pid for c in children}
        keys = json.loads(credentials.read_text())
        await _measure(stack, keys, options, result, progress)
    finally:
        for child in reversed(children):
            child.stop()


async def _behind_a_stub(
    stack: _Stack, options: Options, result: RunResult, progress: Callable[[str], None]
) -> None:
    """The gateway alone: a stub in this process answers for the manager at once."""
    stub = ManagerStub()
    await stub.start(stack.nats_url)
    gateway = Child("gateway", ["-m", "services.gateway"], stack.env, stack.work)
    try:
        await _gateway_ready(stack.url, gateway)
        stack.pids["gateway"] = gateway.proc.pid
        await _measure(stack, stub.keys, options, result, progress)
    finally:
        gateway.stop()
        await stub.stop()


async def _measure(
    stack: _Stack,
    keys: dict[str, str],
    options: Options,
    result: RunResult,
    progress: Callable[[str], None],
) -> None:
    progress(
        f"{stack.backend}: {options.warmup} warm-up requests (SDK), then {options.requests},"
        f" {options.concurrency} in flight, from {_client_name(options)}"
    )
    latencies, refused, wall = await _requests(stack, keys, options, result)
    result.created, result.refused = len(latencies), refused
    result.client, result.clients = options.client, options.clients
    result.creates_per_s = len(latencies) / max(wall, 1e-9)
    result.latency_ms = percentiles([s * 1000 for s in latencies])


def _sdk_client(url: str, keys: dict[str, str], concurrency: int) -> AsyncClient:
    # Enough connections for every request in flight: none waits for a socket.
    limits = httpx.Limits(max_connections=concurrency * 2)
    return AsyncClient(
        url,
        access_key=keys["access_key"],
        secret_key=keys["secret_key"],
        transport=httpx.AsyncHTTPTransport(limits=limits),
        timeout=60,
    )


def _this_process(options: Options) -> str:
    """What this process's CPU pays for: the SDK's requests, the stub's answers, both."""
    does = (["stub"] if options.manager == "stub" else []) + (
        ["SDK client"] if options.client == "sdk" else []
    )
    return " + ".join(does) or "bench"


def _client_name(options: Options) -> str:
    if options.client == "sdk":
        return "the SDK client"
    return f"the lean client in {options.clients} process{'es' if options.clients > 1 else ''}"


@contextmanager
def _metered(pids: dict[str, int], result: RunResult, options: Options) -> Iterator[None]:
    """CPU per process, and the machine's load average, over the measured requests."""
    meter = CpuMeter(pids)
    before = os.getloadavg()[0]
    spied = {name: pid for name, pid in pids.items() if name != "nats" and pid != os.getpid()}
    with sampled(spied, options.profile_dir, result.backend):
        yield
    result.cpu = meter.read()
    result.load = (before, os.getloadavg()[0])


async def _requests(
    stack: _Stack, keys: dict[str, str], options: Options, result: RunResult
) -> tuple[list[float], dict[str, int], float]:
    """The warm-up through the SDK, then the measured requests from the chosen client."""
    pids = stack.pids | {_this_process(options): os.getpid()}
    async with _sdk_client(stack.url, keys, options.concurrency) as berth:
        await _send(berth, options.warmup, options.concurrency, "warm-")
        if options.client == "sdk":
            with _metered(pids, result, options):
                return await _send(berth, options.requests, options.concurrency, "s-")
    shares = split(options.requests, options.clients, options.concurrency, "s-")
    target = Target("127.0.0.1", stack.port, keys["access_key"], keys["secret_key"])
    run = LoadRun(target, shares, {"image": IMAGE, "resources": SESSION})
    try:
        await asyncio.to_thread(run.wait_ready)  # connected and warmed up, off the clock
        with _metered(pids, result, options):
            began, outcome = await asyncio.to_thread(run.go)
    finally:
        run.close()
    result.client_cpu_s = outcome.cpu_s
    return list(outcome.latencies), outcome.refused, outcome.ended - began


@contextmanager
def _raw_store(backend: str, work: Path, options: Options) -> Iterator[StoreSettings]:
    """An empty store of its own, on the backend the stack used."""
    if backend == "sqlite":
        yield StoreSettings(backend="sqlite", sqlite_path=work / "raw.sqlite3")
        return
    with pg_database(options.pg_admin_dsn, "gwraw") as dsn:
        yield StoreSettings(backend="postgres", pg_dsn=dsn)


async def run_all(
    backends: list[str], options: Options, progress: Callable[[str], None]
) -> list[RunResult]:
    results = []
    for backend in backends:
        result = await run_one(backend, options, progress)
        print(format_result(result), flush=True)
        results.append(result)
    return results


def add_parser(benchmarks: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = benchmarks.add_parser(
        "gateway",
        help="signed session requests through the REST API: creates/s, latency, store rate",
    )
    bench.add_argument("--store", choices=[*BACKENDS, "both"], default="sqlite")
    bench.add_argument("--requests", type=int, default=2000, help="sessions (default 2,000)")
    bench.add_argument("--concurrency", type=int, default=32, help="requests in flight (32)")
    bench.add_argument(
        "--client",
        choices=CLIENTS,
        default="lean",
        help="who sends the measured requests: the lean signed client (default) or the SDK",
    )
    bench.add_argument(
        "--clients", type=int, default=1, help="processes of the lean client (default 1)"
    )
    bench.add_argument(
        "--manager",
        choices=MANAGERS,
        default="real",
        help="the whole stack (default), or the gateway alone with a stub for the manager",
    )
    bench.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy samples of each process of the stack while measuring, one file each in DIR",
    )
    bench.add_argument(
        "--pg-dsn",
        default=os.environ.get("BERTH_BENCH_PG_DSN", DEFAULT_PG_ADMIN_DSN),
        help="a PostgreSQL server to create the scratch databases on (BERTH_BENCH_PG_DSN)",
    )


def run_from_args(args: argparse.Namespace, progress: Callable[[str], None]) -> None:
    if args.requests < 1 or args.concurrency < 1 or args.clients < 1:
        sys.exit("--requests, --concurrency and --clients must be at least 1")
    options = Options(
        requests=args.requests,
        concurrency=args.concurrency,
        client=args.client,
        clients=args.clients,
        manager=args.manager,
        pg_admin_dsn=args.pg_dsn,
        profile_dir=args.profile,
    )
    backends = list(BACKENDS) if args.store == "both" else [args.store]
    if options.manager == "stub":
        backends = backends[:1]  # nothing is stored: one run says it all
    to = "to the manager" if options.manager == "real" else "to a stub answering for the manager"
    print(
        f"gateway benchmark: {options.requests} signed POST /v1/sessions,"
        f" {options.concurrency} in flight, through the gateway {to}",
        flush=True,
    )
    asyncio.run(run_all(backends, options, progress))
