"""The real stack of the agent benchmark, as processes, on fresh state.

A nats-server of its own (from the venv), a new SQLite file or PostgreSQL
database, a Podman API service on a socket of its own, the manager
(``python -m services.manager serve``) and one Podman agent
(``python -m services.agent``) that offers the whole machine. Every process logs
into the run's work directory, which is kept when a run fails. The containers the
agent made (labelled with its id) are removed when the stack stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import nats
import podman
from nats.aio.client import Client as NATS

from services.agent.container_spec import LABEL_AGENT
from services.agent.podman_service import PodmanService
from services.manager.domain.agent import agent_id_for
from tests.bench.scheduler import Child
from tests.bench.scratch import nats_server, pg_database, pg_unreachable_reason

#: the scheduler is woken by requests and exits; the tick only bounds a missed wake-up
SCHEDULER_TICK = "0.05"

#: the agent's line for each kernel it starts (services/agent/kernels.py)
STARTED_LINE = re.compile(
    r"kernel (?P<kernel>\S+) started (?P<total>[\d.]+) ms after its decision"
    r" \(create (?P<create>[\d.]+), init (?P<init>[\d.]+), start (?P<start>[\d.]+) ms\)"
)


@dataclass
class Stack:
    work: Path
    nc: NATS
    admin: str
    api: PodmanService
    manager: Child
    agent: Child
    agent_name: str
    nats_pid: int

    @property
    def agent_id(self) -> uuid.UUID:
        return agent_id_for(self.agent_name)

    def podman_client(self) -> podman.PodmanClient:
        return podman.PodmanClient(base_url=self.api.url)

    def pids(self) -> dict[str, int]:
        pids = {
            "manager": self.manager.proc.pid,
            "agent": self.agent.proc.pid,
            "nats": self.nats_pid,
        }
        if (api := serving_pid(self.api.url)) is not None:
            pids["podman API"] = api
        return pids

    def agent_start_times(self, kernel_ids: set[str]) -> dict[str, list[float]]:
        """The agent's own account of these kernels' starts (ms), from its log."""
        found: dict[str, list[float]] = {}
        for match in STARTED_LINE.finditer(self.agent.log_path.read_text(errors="replace")):
            if match["kernel"] in kernel_ids:
                for part in ("total", "create", "init", "start"):
                    found.setdefault(part, []).append(float(match[part]))
        return found

    def remove_agent_containers(self) -> int:
        with self.podman_client() as client:
            found = client.containers.list(
                all=True, filters={"label": f"{LABEL_AGENT}={self.agent_id}"}
            )
            for container in found:
                container.remove(force=True)
        return len(found)


def serving_pid(url: str) -> int | None:
    """The ``podman system service`` answering at ``url`` (for its CPU time), if found."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"service" in args and url.encode() in args:
            return int(proc.name)
    return None


async def until(check: Callable[[], bool], what: str, child: Child, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if child.proc.poll() is not None or time.monotonic() > deadline:
            tail = child.log_path.read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError(f"{what} did not happen; {child.log_path.name}:\n" + "\n".join(tail))
        await asyncio.sleep(0.05)


def store_unavailable(store: str, pg_admin_dsn: str) -> str | None:
    return pg_unreachable_reason(pg_admin_dsn) if store == "postgres" else None


@asynccontextmanager
async def running_stack(
    *, store: str, network: str, pg_admin_dsn: str, progress: Callable[[str], None]
) -> AsyncIterator[Stack]:
    work = Path(tempfile.mkdtemp(prefix="berth-agent-bench-"))
    try:
        async with AsyncExitStack() as exits:
            yield await _start(exits, work, store, network, pg_admin_dsn, progress)
    except BaseException:
        progress(f"the run failed; its processes' logs are kept in {work}")
        raise
    shutil.rmtree(work, ignore_errors=True)


async def _start(
    exits: AsyncExitStack,
    work: Path,
    store: str,
    network: str,
    pg_admin_dsn: str,
    progress: Callable[[str], None],
) -> Stack:
    natsd = exits.enter_context(nats_server(work))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
    env |= {
        "BERTH_DATA_DIR": str(work),
        "BERTH_NATS_URL": natsd.url,
        "BERTH_SCHEDULER_TICK": SCHEDULER_TICK,
        "BERTH_AGENT_LOST_AFTER": "60",
        "BERTH_AGENT_STOP_TIMEOUT": "3",
        "PYTHONUNBUFFERED": "1",
    }
    if store == "postgres":
        dsn = exits.enter_context(pg_database(pg_admin_dsn, "agent"))
        env |= {"BERTH_STORE": "postgres", "BERTH_PG_DSN": dsn}
    else:
        env |= {"BERTH_STORE": "sqlite", "BERTH_SQLITE_PATH": str(work / "events.sqlite3")}
    api = PodmanService(work / "podman.sock", work / "podman.log")
    await asyncio.to_thread(api.ensure)
    exits.callback(api.stop)
    env["BERTH_PODMAN_SOCKET"] = str(api.socket_path)

    progress("starting the manager")
    manager = Child("manager", ["-m", "services.manager", "serve"], env, work)
    exits.callback(manager.stop)
    nc = await nats.connect(natsd.url)
    exits.push_async_callback(nc.close)
    credentials = work / "admin-credentials.json"
    await until(credentials.exists, "the manager's first start", manager, 60)
    await until(lambda: manager.said("relay started"), "the manager's start", manager, 60)
    admin = json.loads(credentials.read_text())["access_key"]

    name = f"bench-{uuid.uuid4().hex[:8]}"
    progress(f"starting the Podman agent {name} (network {network})")
    agent = Child(
        "agent", ["-m", "services.agent", "--name", name, "--network", network], env, work
    )
    stack = Stack(work, nc, str(admin), api, manager, agent, name, natsd.pid)
    # Last in, first out: the agent stops before its containers are removed.
    exits.callback(stack.remove_agent_containers)
    exits.callback(agent.stop)
    await until(lambda: agent.said("reconciled at start"), "the agent's start", agent, 90)
    return stack
