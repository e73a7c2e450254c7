"""A real manager and real Podman agents, as processes, over a private nats-server.

The agents talk to one Podman API service started for the test session; each
test's agents have names of their own, so their containers (labelled with the
agent's id) are found and removed when the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import podman
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError
from podman.errors import NotFound

from events.agent_rpc import (
    EXEC,
    LOGS,
    ExecReply,
    ExecRequest,
    LogsReply,
    LogsRequest,
    agent_rpc_subject,
)
from events.base import DomainEvent
from events.session import SessionScheduled
from events.streams import EVENTS_STREAM
from services.agent.container_spec import LABEL_AGENT
from services.agent.podman_service import PodmanService
from services.manager.client import ManagerClient
from services.manager.domain.agent import agent_id_for
from tests.integration.agent.session_watch import StreamWatch
from tests.integration.relay.processes import Processes

PATIENCE = 90.0


def podman_missing() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (./dev setup installs it)"
    return None


class PodmanApi:
    """One ``podman system service`` for the whole test session."""

    def __init__(self, directory: Path) -> None:
        self.service = PodmanService(directory / "podman.sock", directory / "podman.log")

    @property
    def socket(self) -> Path:
        return self.service.socket_path

    def client(self) -> podman.PodmanClient:
        return podman.PodmanClient(base_url=self.service.url)

    def containers_of(self, agent_id: UUID) -> list[Any]:
        with self.client() as client:
            return list(
                client.containers.list(all=True, filters={"label": f"{LABEL_AGENT}={agent_id}"})
            )

    def remove_containers_of(self, agent_id: UUID) -> None:
        for container in self.containers_of(agent_id):
            # The agent may be removing it at the same moment.
            with contextlib.suppress(NotFound):
                container.remove(force=True)


class PodmanCluster:
    def __init__(
        self, procs: Processes, data_dir: Path, nc: NATS, watch: StreamWatch, api: PodmanApi
    ) -> None:
        self.procs = procs
        self.data_dir = data_dir
        self.nc = nc
        self.client = ManagerClient(nc)
        self.watch = watch
        self.api = api
        self.admin = ""
        self.agents: dict[str, UUID] = {}

    async def ready(self) -> None:
        credentials = self.data_dir / "admin-credentials.json"
        js = self.nc.jetstream()
        async with asyncio.timeout(PATIENCE):
            while not credentials.exists():
                await asyncio.sleep(0.1)
            while True:
                try:
                    await js.stream_info(EVENTS_STREAM)
                    break
                except NotFoundError:
                    await asyncio.sleep(0.1)
        self.admin = json.loads(credentials.read_text())["access_key"]

    def start_agent(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self.agents[name] = agent_id_for(name)
        return self.procs.start(
            name, "-m", "services.agent", "--name", name, "--network", "none", *args
        )

    def unique_name(self, stem: str) -> str:
        return f"{stem}-{uuid.uuid4().hex[:8]}"

    async def agent_ready(self, name: str) -> None:
        await self.wait_for_log(name, "reconciled at start")

    async def wait_for_log(self, name: str, text: str) -> None:
        async with asyncio.timeout(PATIENCE):
            while not self.procs.said(name, text):
                await asyncio.sleep(0.1)

    async def wait_event(self, aggregate_id: str, name: str) -> DomainEvent:
        try:
            return await self.watch.wait_event(aggregate_id, name, PATIENCE)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.procs.logs(tail=40)}") from None

    async def request(self, name: str, **fields: Any) -> str:
        fields.setdefault("image", "berth-small")
        fields.setdefault("resources", {"cpu": "0.25", "mem": "64m"})
        reply = await self.client.request_session(actor=self.admin, name=name, **fields)
        assert reply.ok, reply
        assert reply.session_id is not None
        return reply.session_id

    def kernel_of(self, session_id: str) -> tuple[UUID, UUID]:
        """(kernel id, agent id) of the session's first kernel."""
        placed = self.watch.last(session_id, "SessionScheduled")
        assert isinstance(placed, SessionScheduled)
        first = placed.assignments[0]
        return first.kernel_id, first.agent_id

    async def logs(self, session_id: str, offset: int = 0, wait: float = 0.0) -> LogsReply:
        kernel_id, agent_id = self.kernel_of(session_id)
        request = LogsRequest(kernel_id=kernel_id, offset=offset, wait=wait)
        msg = await self.nc.request(
            agent_rpc_subject(agent_id, LOGS), msgspec.json.encode(request), timeout=wait + 10
        )
        return msgspec.json.decode(msg.data, type=LogsReply)

    async def exec(self, session_id: str, command: list[str]) -> ExecReply:
        kernel_id, agent_id = self.kernel_of(session_id)
        request = ExecRequest(kernel_id=kernel_id, command=command)
        msg = await self.nc.request(
            agent_rpc_subject(agent_id, EXEC), msgspec.json.encode(request), timeout=40
        )
        return msgspec.json.decode(msg.data, type=ExecReply)


def agent_env(api: PodmanApi) -> dict[str, str]:
    return {
        "BERTH_PODMAN_SOCKET": str(api.socket),
        "BERTH_HEARTBEAT_INTERVAL": "0.5",
        "BERTH_RECONCILE_INTERVAL": "2",
        "BERTH_TELEMETRY_INTERVAL": "1",
        "BERTH_AGENT_STOP_TIMEOUT": "3",
        "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", ""),
    }
