"""The backbone benchmark: store → relay → JetStream → projection runner → read model.

For each store backend, on fresh temporary state (a nats-server of its own, a
new SQLite file or PostgreSQL database), it measures in one run:

1. the raw store, one event per save (a reference figure);
2. in each of several rounds (three by default), one after the other:
   a. the raw store: ``EventStore.save`` in batches of 100;
   b. raw JetStream: pipelined ``publish_async`` of the same payloads;
   c. the backbone end to end: N events saved in batches of 100 through the real
      store, published by the real relay, projected by the real runner; from the
      first save until the read model holds the last event;
3. lag at a fixed rate: events saved at a steady pace, and for each one the
   time from its store commit until the read model's commit that included it;
4. the projection alone: every read model built again from the whole stream
   into a fresh read store, as a rebuild reads it, with nothing else running.

Rounds, because a small machine's speed drifts from one second to the next (raw
JetStream has been seen at 33,000 and 55,000 messages/s a minute apart): each
round's backbone figure is set against the raw figures measured just before it,
and the report gives each round's ratio and their median.

The processes are those of the embedded stack: this process plays the manager
(saves in worker threads, the relay in its event loop, woken after each save
and, on PostgreSQL, by LISTEN/NOTIFY), and the read models are projected in a
process of their own (:mod:`tests.bench.projector`), so the two share the
machine's cores as they do in a deployment. ``relay="process"`` runs the relay
as ``python -m services.manager relay`` instead, to compare.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import msgspec
import nats
from nats.aio.client import Client as NATS

from events.streams import EVENTS_STREAM, ensure_streams
from projections.consumer import delete_consumer
from projections.read_store import open_read_store
from projections.registry import create_all
from projections.runner import ProjectionRunner
from projections.settings import ReadStoreSettings
from services import collector
from services.manager.relay_runner import run_relay
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.bench.cpu import CpuMeter, CpuUse, quiet_machine
from tests.bench.lag import LagFigures, lag_figures, stream_times
from tests.bench.projection_process import REPO_ROOT, ProjectionProcess
from tests.bench.raw import (
    JetStreamFigures,
    SingleSaves,
    StoreFigures,
    measure_jetstream,
    measure_single_saves,
    measure_store,
)
from tests.bench.scratch import nats_server, pg_database, pg_unreachable_reason, stop_process
from tests.bench.spy import sampled
from tests.bench.writer import in_batches, new_sessions, save_all, save_paced

BACKENDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Options:
    events: int = 20_000
    rate: float = 1000.0
    lag_seconds: float = 10.0
    #: single saves for the reference figure: at most this many, for at most so long
    singles: int = 2000
    singles_budget_s: float = 2.0
    pg_admin_dsn: str = ""
    #: "manager": in the process that saves, as ``python -m services.manager serve`` runs it;
    #: "process": ``python -m services.manager relay``, a process of its own
    relay: str = "manager"
    #: py-spy samples of the processes during the end-to-end and the lag runs, written here
    profile_dir: Path | None = None
    #: raw figures and the backbone end to end, measured this many times in turn
    rounds: int = 3


@dataclass(frozen=True)
class EndToEnd:
    events: int
    eps: float
    #: seconds from the first save until the last save returned / was on the stream / was projected
    stored_s: float
    on_stream_s: float
    projected_s: float
    cpu: CpuUse


@dataclass(frozen=True)
class LagRun:
    rate: float
    achieved_rate: float
    events: int
    saves: int
    lag: LagFigures
    cpu: CpuUse


@dataclass(frozen=True)
class Replay:
    """The whole stream projected again, into a fresh read store, by one runner of every model."""

    events: int
    eps: float
    cpu: CpuUse


@dataclass(frozen=True)
class Round:
    """The raw figures and, right after them, the backbone end to end."""

    store: StoreFigures
    jetstream: JetStreamFigures
    end_to_end: EndToEnd


@dataclass(frozen=True)
class BackendResult:
    backend: str
    skipped: str | None = None
    single_saves: SingleSaves | None = None
    rounds: list[Round] = field(default_factory=list)
    lag: LagRun | None = None
    replay: Replay | None = None


Progress = Callable[[str], None]


async def run_backend(backend: str, options: Options, progress: Progress) -> BackendResult:
    if backend == "postgres":
        reason = pg_unreachable_reason(options.pg_admin_dsn)
        if reason is not None:
            return BackendResult(backend, skipped=reason)
    with tempfile.TemporaryDirectory(prefix="berth-bench-") as tmp:
        work = Path(tmp)
        if backend == "sqlite":
            raw = StoreSettings(backend="sqlite", sqlite_path=work / "raw.sqlite3")
            main = StoreSettings(backend="sqlite", sqlite_path=work / "events.sqlite3")
            return await _measure(backend, raw, main, work, options, progress)
        with (
            pg_database(options.pg_admin_dsn, "raw") as raw_dsn,
            pg_database(options.pg_admin_dsn, "backbone") as main_dsn,
        ):
            raw = StoreSettings(backend="postgres", pg_dsn=raw_dsn)
            main = StoreSettings(backend="postgres", pg_dsn=main_dsn)
            return await _measure(backend, raw, main, work, options, progress)


async def _measure(
    backend: str,
    raw: StoreSettings,
    main: StoreSettings,
    work: Path,
    options: Options,
    progress: Progress,
) -> BackendResult:
    with nats_server(work) as server, _collector_as_in_service():
        nc = await nats.connect(server.url)
        try:
            progress(f"{backend}: raw store, single saves")
            await quiet_machine()
            singles = await asyncio.to_thread(
                measure_single_saves, raw, options.singles, options.singles_budget_s
            )
            env = _berth_env(main, server.url, work)
            rounds, lag = await _measure_backbone(
                main, raw, nc, env, work, server.pid, options, progress
            )
            progress(f"{backend}: the projection alone, replaying the stream")
            await quiet_machine()
            replay = await _replay(_replay_store(main, work), nc, server.pid)
        finally:
            await nc.close()
        return BackendResult(backend, None, singles, rounds, lag, replay)


def _raw_store(raw: StoreSettings, work: Path, round_no: int) -> StoreSettings:
    """Each round's raw store: a new SQLite file; on PostgreSQL the same scratch database."""
    if raw.backend == "sqlite":
        return replace(raw, sqlite_path=work / f"raw-{round_no}.sqlite3")
    return raw


@contextlib.contextmanager
def _collector_as_in_service() -> Iterator[None]:
    """This process plays the manager (and, for the replay, the projection process): its
    garbage collector set as theirs are, and put back afterwards for the next backend."""
    thresholds = gc.get_threshold()
    collector.settle_for_batches()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def _replay_store(settings: StoreSettings, work: Path) -> ReadStoreSettings:
    """A read store of its own for the replay, on the backend the run measured."""
    if settings.backend == "postgres":
        return ReadStoreSettings(backend="postgres", pg_dsn=settings.pg_dsn, pg_schema="replay")
    return ReadStoreSettings(backend="sqlite", sqlite_path=work / "replay.sqlite3")


async def _replay(settings: ReadStoreSettings, nc: NATS, nats_pid: int) -> Replay:
    """Project the whole stream again, in this process, once nothing else is running.

    The same runner as the projection process's (every model in one group), reading
    through a consumer of its own from the stream's first message to its last.
    """
    js = nc.jetstream()
    state = (await js.stream_info(EVENTS_STREAM)).state
    store = await asyncio.to_thread(open_read_store, settings)
    runner = ProjectionRunner(create_all(), store, nc, name="bench-replay")
    meter = CpuMeter({"projection": os.getpid(), "nats-server": nats_pid})
    try:
        await runner.run(asyncio.Event(), until_seq=state.last_seq)
        cpu = meter.read()
    finally:
        await asyncio.to_thread(store.close)
        await delete_consumer(js, EVENTS_STREAM, runner.consumer)
    return Replay(events=state.messages, eps=state.messages / cpu.wall_s, cpu=cpu)


def _berth_env(settings: StoreSettings, nats_url: str, work: Path) -> dict[str, str]:
    """What the child processes read, and nothing inherited that could redirect them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
    env.update(
        BERTH_DATA_DIR=str(work),
        BERTH_NATS_URL=nats_url,
        BERTH_STORE=settings.backend,
        BERTH_SQLITE_PATH=str(settings.sqlite_path),
        BERTH_PG_DSN=settings.pg_dsn,
        BERTH_READMODELS_PATH=str(work / "readmodels.sqlite3"),
    )
    return env


async def _measure_backbone(
    settings: StoreSettings,
    raw: StoreSettings,
    nc: NATS,
    env: dict[str, str],
    work: Path,
    nats_pid: int,
    options: Options,
    progress: Progress,
) -> tuple[list[Round], LagRun]:
    js = nc.jetstream()
    await ensure_streams(js)
    store = EventStore(settings)
    projection = ProjectionProcess(env, work / "projections.log")
    cpu_pids = {"manager": os.getpid(), "projections": projection.pid, "nats-server": nats_pid}
    stop = asyncio.Event()
    relay: asyncio.Task[object] | None = None
    relay_process: subprocess.Popen[bytes] | None = None
    if options.relay == "process":
        relay_process = _start_relay_process(env, work / "relay.log")
        cpu_pids["relay"] = relay_process.pid
    else:
        relay = asyncio.create_task(run_relay(store, nc, stop))
    rounds: list[Round] = []
    try:
        await projection.ready(js)
        # One save through the whole backbone first: connections, consumers and
        # prepared statements are warm before any clock starts.
        warm = await asyncio.to_thread(save_all, store, [new_sessions(100)])
        await asyncio.to_thread(projection.wait_for, warm.last_id, 60)

        python_pids = {name: pid for name, pid in cpu_pids.items() if name != "nats-server"}
        for n in range(1, options.rounds + 1):
            step = f"{settings.backend}, round {n} of {options.rounds}"
            progress(f"{step}: raw store, raw JetStream")
            await quiet_machine()
            store_figures, sample = await asyncio.to_thread(
                measure_store, _raw_store(raw, work, n), options.events
            )
            await quiet_machine()
            js_figures = await measure_jetstream(nc, sample, options.events)
            progress(f"{step}: backbone end to end, {options.events:,} events")
            await quiet_machine()
            with sampled(python_pids, options.profile_dir, f"{settings.backend}-{n}"):
                end_to_end = await _end_to_end(store, nc, projection, options.events, cpu_pids)
            rounds.append(Round(store_figures, js_figures, end_to_end))
        progress(
            f"{settings.backend}: lag at {options.rate:,.0f} events/s for {options.lag_seconds:g}s"
        )
        await quiet_machine()
        with sampled(python_pids, options.profile_dir, f"{settings.backend}-lag"):
            lag = await _lag(store, nc, projection, options, cpu_pids)
    finally:
        stop.set()
        if relay is not None:
            await asyncio.wait_for(relay, 30)
        if relay_process is not None:
            stop_process(relay_process)
        projection.stop()
        store.close()
    return rounds, lag


def _start_relay_process(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``python -m services.manager relay``: the relay alone, in a process of its own."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "services.manager", "relay"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


class _StreamState(msgspec.Struct):
    last_seq: int


class _StreamInfo(msgspec.Struct):
    state: _StreamState


_stream_info = msgspec.json.Decoder(_StreamInfo)


async def _last_seq(nc: NATS) -> int:
    """The stream's last sequence, asked of the server as ``js.stream_info`` asks, with only
    that number read from the reply: the end-to-end run asks every 10 ms, from the event
    loop the relay runs in, and nats-py's whole ``StreamInfo`` costs 180 µs of it each time."""
    reply = await nc.request(f"$JS.API.STREAM.INFO.{EVENTS_STREAM}", b"", timeout=5.0)
    return _stream_info.decode(reply.data).state.last_seq


async def _end_to_end(
    store: EventStore,
    nc: NATS,
    projection: ProjectionProcess,
    events: int,
    cpu_pids: dict[str, int],
) -> EndToEnd:
    batches = list(in_batches(new_sessions(events), 100))
    base_seq = await _last_seq(nc)
    meter = CpuMeter(cpu_pids)
    started = time.time()
    writer = asyncio.ensure_future(asyncio.to_thread(save_all, store, batches))
    # Watch the stream fill (every 10 ms: a cheap request beside what is measured).
    while await _last_seq(nc) - base_seq < events:
        await asyncio.sleep(0.01)
    on_stream = time.time()
    saved = await writer
    projected = await asyncio.to_thread(projection.wait_for, saved.last_id, 60 + events / 500)
    cpu = meter.read()
    return EndToEnd(
        events=events,
        eps=events / (projected - started),
        stored_s=saved.at[-1] - started,
        on_stream_s=on_stream - started,
        projected_s=projected - started,
        cpu=cpu,
    )


async def _lag(
    store: EventStore,
    nc: NATS,
    projection: ProjectionProcess,
    options: Options,
    cpu_pids: dict[str, int],
) -> LagRun:
    base_seq = await _last_seq(nc)
    meter = CpuMeter(cpu_pids)
    started = time.time()
    saved = await asyncio.to_thread(save_paced, store, options.rate, options.lag_seconds)
    writing_s = time.time() - started
    await asyncio.to_thread(projection.wait_for, saved.last_id, 60)
    cpu = meter.read()
    projected = projection.committed_at(saved.ids)
    on_stream = await stream_times(nc.jetstream(), base_seq + 1, len(saved.ids))
    figures = lag_figures(saved.at, [on_stream.get(i) for i in saved.ids], projected)
    return LagRun(
        rate=options.rate,
        achieved_rate=len(saved.ids) / writing_s,
        events=len(saved.ids),
        saves=saved.saves,
        lag=figures,
        cpu=cpu,
    )
