"""``berth up``: the embedded stack as a user runs it, as real processes on a data directory.

The demo runs three real sessions on the stack's Podman agent (one of them with
``berth run`` through the REST API), destroys one once it runs, and follows all
three to their end on the stream and in the read model. Every run must add to what
earlier runs left, Ctrl-C must leave no process behind, and a second stack on the
same data directory must refuse.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import psycopg
import pytest

from deploy.natsd import NatsServerConfig, free_port, start_nats_server
from events.streams import EVENTS_STREAM
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.e2e.stack_process import BerthUp, pid_alive, processes_using

SESSIONS_PER_DEMO = 3
CHILDREN = {"nats", "manager", "project", "gateway", "agent"}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "berth-data"


@pytest.fixture
def stacks() -> Iterator[list[BerthUp]]:
    """Every ``berth up`` a test starts; none is left running afterwards."""
    started: list[BerthUp] = []
    yield started
    for stack in started:
        stack.close()


def _start(
    stacks: list[BerthUp], data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> BerthUp:
    stack = BerthUp(data_dir, *args, env=env)
    stacks.append(stack)
    return stack


def _stream_messages(data_dir: Path) -> int:
    """Count what the JetStream store holds, with a nats-server of the test's own."""
    config = NatsServerConfig(store_dir=data_dir / "jetstream", port=free_port())
    proc = start_nats_server(config)

    async def count() -> int:
        nc = await nats.connect(config.url)
        try:
            info = await nc.jetstream().stream_info(EVENTS_STREAM)
            return int(info.state.messages)
        finally:
            await nc.close()

    try:
        return asyncio.run(count())
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment that puts the event store (and the read models) on each backend."""
    if request.param == "sqlite":
        return {"BERTH_STORE": "sqlite"}
    return {"BERTH_STORE": "postgres", "BERTH_PG_DSN": request.getfixturevalue("pg_database")}


def _stored_events(data_dir: Path, env: dict[str, str]) -> int:
    if env["BERTH_STORE"] == "postgres":
        settings = StoreSettings(backend="postgres", pg_dsn=env["BERTH_PG_DSN"])
    else:
        settings = StoreSettings(backend="sqlite", sqlite_path=data_dir / "events.sqlite3")
    store = EventStore(settings)
    try:
        return store.max_notification_id()
    finally:
        store.close()


def _session_names(data_dir: Path, env: dict[str, str]) -> set[str]:
    query = "SELECT name FROM session_view"
    if env["BERTH_STORE"] == "postgres":
        with psycopg.connect(env["BERTH_PG_DSN"]) as pg:
            return {name for (name,) in pg.execute(query)}
    with sqlite3.connect(data_dir / "readmodels.sqlite3") as db:
        return {name for (name,) in db.execute(query)}


def test_the_demo_shows_sessions_run_to_their_end_and_a_restart_keeps_everything(
    stacks: list[BerthUp], data_dir: Path, store_env: dict[str, str]
) -> None:
    first = _start(stacks, data_dir, "--exit-after-demo", env=store_env)
    assert first.wait() == 0, first.output
    out = first.output
    assert out.count("SessionRequested v1  name=") == SESSIONS_PER_DEMO, out
    assert out.count("AgentRegistered v1  name=e2e-") == 1, out
    assert "simulated=true" not in out
    assert "$ berth run --name hello-" in out
    assert re.search(r"run +\| 42$", out, re.MULTILINE), out
    assert "berth run printed 42 and exited with 0" in out
    assert "GraphQL      http://127.0.0.1:" in out
    for status in ("Scheduled", "Preparing", "Running", "Terminated"):
        assert out.count(f"Session{status} v") == SESSIONS_PER_DEMO, (status, out)
    assert re.search(r"SessionTerminating v\d+  reason=demo: not needed after all", out), out
    assert re.search(r"SessionTerminated v\d+  reason=exited exit_code=3 result=failure", out), out
    assert re.search(r"SessionTerminated v\d+  reason=exited exit_code=0 result=success", out), out
    assert "cannot decode" not in out
    assert "went PENDING → SCHEDULED → PREPARING → RUNNING → TERMINATED" in out
    assert "the session read model shows:" in out
    assert re.search(r"broken-\w+ +batch +TERMINATED +exit 3 +failure", out), out
    assert re.search(r"hello-\w+ +batch +TERMINATED +exit 0 +success", out), out
    assert re.search(r"notebook-\w+ +interactive +TERMINATED +exit 0 +undefined", out), out
    assert "stopped cleanly" in out
    stored, streamed, sessions = first.totals()
    assert stored == streamed
    assert sessions == SESSIONS_PER_DEMO
    names_after_first = _session_names(data_dir, store_env)
    assert len(names_after_first) == SESSIONS_PER_DEMO
    for name in (*CHILDREN, "stack"):
        log = data_dir / "logs" / f"{name}.log"
        assert log.stat().st_size > 0, f"{log} is empty"

    second = _start(stacks, data_dir, "--exit-after-demo", env=store_env)
    assert second.wait() == 0, second.output
    # Everything the first run left is still there, and the second run added its own.
    stored_2, streamed_2, sessions_2 = second.totals()
    assert stored_2 == streamed_2 > stored
    assert sessions_2 == 2 * SESSIONS_PER_DEMO
    assert _stored_events(data_dir, store_env) == stored_2
    assert _stream_messages(data_dir) == stored_2
    names_after_second = _session_names(data_dir, store_env)
    assert names_after_first < names_after_second
    assert len(names_after_second) == 2 * SESSIONS_PER_DEMO
    # The agents were known already: registering again decided nothing new.
    assert "AgentRegistered" not in second.output


def test_ctrl_c_stops_every_process_and_exits_0(stacks: list[BerthUp], data_dir: Path) -> None:
    stack = _start(stacks, data_dir)
    stack.wait_for_line("following new events as they arrive")
    children = stack.child_pids()
    assert set(children) == CHILDREN, stack.output
    assert all(pid_alive(pid) for pid in children.values())
    assert len(processes_using(data_dir)) >= 6  # berth up and its five children

    stack.interrupt()
    assert stack.wait() == 0, stack.output
    assert "stopped cleanly" in stack.output
    assert not [pid for pid in children.values() if pid_alive(pid)]
    assert processes_using(data_dir) == []


def test_a_killed_stack_leaves_nothing_running_and_starts_again_with_its_state(
    stacks: list[BerthUp], data_dir: Path
) -> None:
    crashed = _start(stacks, data_dir)
    crashed.wait_for_line("following new events as they arrive")
    children = crashed.child_pids()

    crashed.proc.kill()
    crashed.wait()
    # The children follow their supervisor (they get SIGTERM from the kernel).
    deadline = time.monotonic() + 60
    while any(pid_alive(pid) for pid in children.values()):
        assert time.monotonic() < deadline, f"still running: {processes_using(data_dir)}"
        time.sleep(0.1)

    again = _start(stacks, data_dir, "--exit-after-demo")
    assert again.wait() == 0, again.output
    stored, streamed, sessions = again.totals()
    assert stored == streamed
    assert sessions == 2 * SESSIONS_PER_DEMO


def test_a_second_stack_on_the_same_data_dir_refuses(stacks: list[BerthUp], data_dir: Path) -> None:
    first = _start(stacks, data_dir, "--no-demo")
    first.wait_for_line("berth is up")

    second = _start(stacks, data_dir, "--no-demo")
    assert second.wait() == 2
    assert f"another berth stack (pid {first.proc.pid}) is already running on {data_dir}" in (
        second.output
    )
    # The refusal touched nothing: the first stack runs on.
    assert first.proc.poll() is None
    assert all(pid_alive(pid) for pid in first.child_pids().values())

    first.interrupt()
    assert first.wait() == 0, first.output


def test_a_crashed_service_is_restarted(stacks: list[BerthUp], data_dir: Path) -> None:
    stack = _start(stacks, data_dir, "--no-demo")
    stack.wait_for_line("berth is up")
    crashed = stack.child_pids()["manager"]

    os.kill(crashed, signal.SIGKILL)
    stack.wait_for_line("manager died unexpectedly (killed by SIGKILL)")
    stack.wait_for_line("restarting manager in")
    deadline = time.monotonic() + 60
    while stack.child_pids()["manager"] == crashed:
        assert time.monotonic() < deadline, stack.output
        time.sleep(0.1)
    assert pid_alive(stack.child_pids()["manager"])

    stack.interrupt()
    assert stack.wait() == 0, stack.output
