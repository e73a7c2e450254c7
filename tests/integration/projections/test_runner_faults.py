"""A runner process killed mid-stream ends with the tables of one that was never interrupted.

``python -m projections`` runs as a real child process while the test stores
sessions through the real store and relay. Each time the runner's committed
position passes a random point, it is killed at a random moment after that
(inside a batch, between commit and the next pull, while idle) and started
again. At the end its tables must equal a model built in one uninterrupted go.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS

from projections.read_store import open_read_store
from projections.rebuild import rebuild_read_model
from projections.runner import stored_position
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings
from tests.conftest import NatsServer
from tests.integration.projections.backbone import Backbone, dump_model

REPO_ROOT = Path(__file__).resolve().parents[3]
ROUNDS = 40
SESSIONS_PER_ROUND = 150  # with every third cancelled: 200 events a round, 8,000 in all
KILLS = 3


class RunnerProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "projections"],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        # A runner restarted just before the end may still be starting: a stop
        # request is only handled once it runs (its "projecting" line is logged).
        deadline = time.monotonic() + 30
        marker = f"--- start {self.starts}\n"
        while time.monotonic() < deadline:
            since_start = self.log_path.read_text(errors="replace").rpartition(marker)[2]
            if "projecting " in since_start:
                break
            time.sleep(0.05)
        self.proc.terminate()
        return self.proc.wait(20)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def runner_env(settings: ReadStoreSettings, nats_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
    env.update(BERTH_DATA_DIR=str(data_dir), BERTH_NATS_URL=nats_url, BERTH_STORE=settings.backend)
    if settings.backend == "sqlite":
        env["BERTH_READMODELS_PATH"] = str(settings.sqlite_path)
    else:
        env["BERTH_PG_DSN"] = settings.pg_dsn
    return env


@pytest.fixture
def runner_process(
    read_settings: ReadStoreSettings, nats_server: NatsServer, tmp_path: Path
) -> Iterator[RunnerProcess]:
    env = runner_env(read_settings, nats_server.url, tmp_path / "berth")
    process = RunnerProcess(env, tmp_path / "projections.log")
    yield process
    process.kill()


@pytest.mark.slow
async def test_a_runner_killed_mid_stream_ends_with_the_uninterrupted_tables(
    backbone: Backbone,
    nc: NATS,
    read_settings: ReadStoreSettings,
    reference_settings: ReadStoreSettings,
    runner_process: RunnerProcess,
    request: pytest.FixtureRequest,
) -> None:
    seed = int(os.environ.get("BERTH_TEST_SEED") or zlib.crc32(request.node.name.encode()))
    print(f"random seed {seed} (replay with BERTH_TEST_SEED={seed})")
    rng = random.Random(seed)
    total = ROUNDS * SESSIONS_PER_ROUND * 4 // 3
    # One kill point in each of KILLS equal spans of the stream's middle 80%.
    span = total * 8 // 10 // KILLS
    kill_points = [total // 10 + k * span + rng.randrange(span) for k in range(KILLS)]

    store = open_read_store(read_settings)

    async def position() -> int:
        return (await asyncio.to_thread(stored_position, store, "sessions")).notification_id

    async def feed(rounds: int) -> None:
        for _ in range(rounds):
            backbone.request_sessions(SESSIONS_PER_ROUND, cancel_every=3)
            await asyncio.sleep(rng.uniform(0.0, 0.05))

    async def kill_at(points: list[int]) -> None:
        for point in points:
            while await position() < point:
                await asyncio.sleep(0.005)
            await asyncio.sleep(rng.uniform(0.0, 0.03))
            runner_process.kill()
            runner_process.start()

    # Half the events wait on the stream before the runner starts, so that it has a
    # backlog to work through in full batches; the rest arrive while it runs.
    await feed(ROUNDS // 2)
    runner_process.start()
    try:
        await asyncio.wait_for(
            asyncio.gather(feed(ROUNDS - ROUNDS // 2), kill_at(kill_points)), timeout=120
        )
        last = await backbone.relayed()
        assert last == total

        async def caught_up() -> None:
            while await position() < last:
                await asyncio.sleep(0.05)

        try:
            await asyncio.wait_for(caught_up(), timeout=60)
        except TimeoutError:
            pytest.fail(f"the runner did not catch up:\n{runner_process.log_tail()}")
        assert runner_process.terminate() == 0, runner_process.log_tail()
    finally:
        store.close()

    assert runner_process.starts == KILLS + 1
    interrupted = dump_model(read_settings, SessionView())
    assert len(interrupted["session_view"]) == ROUNDS * SESSIONS_PER_ROUND
    # Every event changed its session's row once: the versions add up to the events.
    assert sum(row[-1] for row in interrupted["session_view"]) == total

    assert await rebuild_read_model("sessions", nc, reference_settings) == total
    assert dump_model(reference_settings, SessionView()) == interrupted
