"""Simulated agents against the real manager: both as processes, over a real nats-server,
on a fresh SQLite and PostgreSQL store.

Sessions run to their end with the exit codes their commands name; an agent that
falls silent is declared lost, its interactive session ends in ERROR and a batch
session that asked for it is placed again on another agent and completes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from events.agent import AgentRegistered
from events.base import DomainEvent
from events.session import (
    KernelObserved,
    SessionPreparing,
    SessionRunning,
    SessionScheduled,
    SessionTerminated,
)
from events.streams import EVENTS_STREAM
from services.agent.simulated.control import ControlRequest, steer
from services.manager.client import ManagerClient
from services.manager.domain.agent import agent_id_for
from services.manager.settings import StoreSettings
from tests.conftest import NatsServer
from tests.integration.agent.session_watch import StreamWatch
from tests.integration.relay.processes import Processes, berth_env

PATIENCE = 90.0
ONE_CPU = {"cpu": 1, "mem": "1g"}


class Cluster:
    """A manager process, the fleets the test starts, and a client that waits for them."""

    def __init__(self, procs: Processes, data_dir: Path, nc: NATS, watch: StreamWatch) -> None:
        self.procs = procs
        self.data_dir = data_dir
        self.nc = nc
        self.client = ManagerClient(nc)
        self.watch = watch
        self.admin = ""

    async def ready(self) -> None:
        credentials = self.data_dir / "admin-credentials.json"
        js = self.nc.jetstream()
        async with asyncio.timeout(PATIENCE):
            while not credentials.exists():
                await asyncio.sleep(0.1)
            while True:  # the manager makes the streams after its first administrator
                try:
                    await js.stream_info(EVENTS_STREAM)
                    break
                except NotFoundError:
                    await asyncio.sleep(0.1)
        self.admin = json.loads(credentials.read_text())["access_key"]

    def fleet(self, prefix: str, agents: int, run_seconds: float) -> None:
        self.procs.start(
            f"fleet-{prefix}",
            *("-m", "services.agent.simulated", "--prefix", prefix, "--agents", str(agents)),
            *("--cpu", "8", "--mem", "16g", "--images", "python"),
            *("--start-delay", "0.05", "--run-seconds", str(run_seconds)),
            *("--heartbeat-interval", "0.5"),
        )

    async def agents_registered(self, *names: str) -> None:
        ids = [str(agent_id_for(n)) for n in names]
        await self.watch.wait_for(
            lambda: all("AgentRegistered" in self.watch.names(i) for i in ids),
            f"agents {names} registered",
        )

    async def wait_event(self, aggregate_id: str, name: str) -> DomainEvent:
        """The event, once it is on the stream; a failure shows what each process said."""
        try:
            return await self.watch.wait_event(aggregate_id, name)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.procs.logs(tail=40)}") from None

    async def request(self, name: str, **fields: Any) -> str:
        reply = await self.client.request_session(
            actor=self.admin, name=name, image="python", resources=ONE_CPU, **fields
        )
        assert reply.ok, reply
        assert reply.session_id is not None
        return reply.session_id


@pytest.fixture
def lost_after() -> float:
    return 15.0


@pytest.fixture
async def cluster(
    nats_server: NatsServer, store_settings: StoreSettings, tmp_path: Path, lost_after: float
) -> AsyncIterator[Cluster]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = berth_env(store_settings, nats_server.url, data_dir)
    env.update(BERTH_SCHEDULER_TICK="0.2", BERTH_AGENT_LOST_AFTER=str(lost_after))
    procs = Processes(env, tmp_path / "logs")
    nc = await nats.connect(nats_server.url)
    watch = StreamWatch(nc.jetstream())
    try:
        procs.start("manager", "-m", "services.manager", "serve")
        cluster = Cluster(procs, data_dir, nc, watch)
        await cluster.ready()
        await watch.start()
        yield cluster
    finally:
        await watch.stop()
        await nc.close()
        procs.close()


async def test_sessions_run_to_their_end_with_the_exit_codes_they_name(cluster: Cluster) -> None:
    cluster.fleet("simt", agents=4, run_seconds=0.3)
    await cluster.agents_registered(*(f"simt-{i}" for i in range(4)))
    registered = cluster.watch.last(str(agent_id_for("simt-0")), "AgentRegistered")
    assert isinstance(registered, AgentRegistered)
    assert registered.simulated

    expected: dict[str, tuple[int, str]] = {}
    interactive: list[str] = []
    for i in range(20):
        if i % 5 == 4:
            interactive.append(await cluster.request(f"notebook-{i}"))
            continue
        command = {0: "exit 0", 1: "exit 3", 2: "python job.py", 3: " exit 255 "}[i % 5]
        sid = await cluster.request(f"job-{i}", session_type="batch", startup_command=command)
        code = {0: 0, 1: 3, 2: 0, 3: 255}[i % 5]
        expected[sid] = (code, "success" if code == 0 else "failure")

    for sid in interactive:
        await cluster.wait_event(sid, "SessionRunning")
        reply = await cluster.client.destroy_session(sid, actor=cluster.admin)
        assert reply.ok, reply
        expected[sid] = (143, "undefined")

    watch = cluster.watch
    await watch.wait_for(
        lambda: all("SessionTerminated" in watch.names(sid) for sid in expected),
        "all 20 sessions to terminate",
        PATIENCE,
    )
    for sid, (code, result) in expected.items():
        names = watch.names(sid)
        flow = ["SessionScheduled", "SessionPreparing", "SessionRunning", "SessionTerminated"]
        assert [n for n in names if n in flow] == flow, names
        terminated = watch.last(sid, "SessionTerminated")
        assert isinstance(terminated, SessionTerminated)
        assert (terminated.exit_code, terminated.result) == (code, result), sid


@pytest.mark.parametrize("lost_after", [2.0])
async def test_a_silent_agent_is_lost_and_its_batch_session_completes_elsewhere(
    cluster: Cluster,
) -> None:
    # One agent first, whose batch kernel runs far longer than the test: both
    # sessions land on it and are still running when it falls silent.
    cluster.fleet("doomed", agents=1, run_seconds=600)
    await cluster.agents_registered("doomed-0")
    notebook = await cluster.request("notebook")
    job = await cluster.request(
        "job", session_type="batch", startup_command="exit 0", requeue_on_agent_loss=True
    )
    watch = cluster.watch
    for sid in (notebook, job):
        await cluster.wait_event(sid, "SessionRunning")

    cluster.fleet("spare", agents=1, run_seconds=0.3)
    await cluster.agents_registered("spare-0")
    reply = await steer(cluster.nc, "doomed", ControlRequest(silence=["doomed-0"]))
    assert reply.ok, reply
    assert reply.silent == ["doomed-0"]

    doomed = str(agent_id_for("doomed-0"))
    await cluster.wait_event(doomed, "AgentLost")
    await cluster.wait_event(notebook, "SessionErrored")
    await cluster.wait_event(job, "SessionRequeued")
    terminated = await cluster.wait_event(job, "SessionTerminated")
    assert isinstance(terminated, SessionTerminated)
    assert (terminated.exit_code, terminated.result) == (0, "success")

    placements = [e for e in watch.by_id[job] if isinstance(e, SessionScheduled)]
    assert [str(p.assignments[0].agent_id) for p in placements] == [
        doomed,
        str(agent_id_for("spare-0")),
    ]
    assert "SessionTerminated" not in watch.names(notebook)


async def test_a_restarted_fleet_picks_up_its_kernels_where_it_left_them(
    cluster: Cluster,
) -> None:
    cluster.fleet("simr", agents=2, run_seconds=600)
    await cluster.agents_registered("simr-0", "simr-1")
    notebook = await cluster.request("notebook")
    job = await cluster.request("job", session_type="batch", startup_command="exit 5")
    for sid in (notebook, job):
        await cluster.wait_event(sid, "SessionRunning")

    # kill -9: nothing said goodbye; the new process has only the streams to go by.
    cluster.procs.kill(cluster.procs.running(["fleet-simr"])["fleet-simr"])
    cluster.fleet("simr", agents=2, run_seconds=0.5)
    reply = await cluster.client.destroy_session(notebook, actor=cluster.admin)
    assert reply.ok, reply

    stopped = await cluster.wait_event(notebook, "SessionTerminated")
    assert isinstance(stopped, SessionTerminated)
    assert (stopped.exit_code, stopped.result) == (143, "undefined")
    # The batch kernel had started before the restart; it ran on and exited with its code.
    finished = await cluster.wait_event(job, "SessionTerminated")
    assert isinstance(finished, SessionTerminated)
    assert (finished.exit_code, finished.result) == (5, "failure")
    for sid in (notebook, job):
        observed = []
        for e in cluster.watch.by_id[sid]:
            if isinstance(e, KernelObserved):
                observed.append(e.state)
            elif isinstance(e, SessionPreparing | SessionRunning) and e.observed is not None:
                observed.append(e.observed.state)
        assert observed == ["created", "started", "exited"], (sid, observed)
