"""The whole stack behind the gateway, as real processes: manager, projections, simulated
agents and the gateway itself, on a test's own nats-server and store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from deploy.natsd import free_port
from services.manager.settings import StoreSettings
from tests.conftest import NatsServer
from tests.integration.gateway.signed_client import SignedClient
from tests.integration.relay.processes import Processes, berth_env

PATIENCE = 90.0
#: what the simulated agents hold; sessions of other images are refused
IMAGES = ("berth-small", "berth-python")
AGENTS = ("gw-0", "gw-1")


class GatewayStack:
    def __init__(self, store: StoreSettings, nats_url: str, root: Path) -> None:
        self.nats_url = nats_url
        self.data_dir = root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = berth_env(store, nats_url, self.data_dir)
        env.update(
            BERTH_SCHEDULER_TICK="0.2",
            BERTH_GATEWAY_HOST="127.0.0.1",
            BERTH_GATEWAY_PORT=str(self.port),
            BERTH_GATEWAY_KEY_CACHE_TTL="1",
        )
        self.procs = Processes(env, root / "logs")
        self.admin: SignedClient | None = None

    def start(self) -> None:
        self.procs.start("manager", "-m", "services.manager", "serve")
        credentials = self.data_dir / "admin-credentials.json"
        self.wait_for(credentials.exists, "the manager's first administrator")
        self.procs.start("projections", "-m", "projections")
        self.procs.start("gateway", "-m", "services.gateway")
        self.procs.start(
            "fleet",
            *("-m", "services.agent.simulated", "--prefix", "gw", "--agents", str(len(AGENTS))),
            *("--cpu", "8", "--mem", "16g", "--images", ",".join(IMAGES)),
            *("--start-delay", "0.05", "--run-seconds", "0.5", "--heartbeat-interval", "1"),
        )
        self.wait_for(self._healthy, "the gateway's health")
        keys = json.loads(credentials.read_text())
        self.admin = self.client(keys["access_key"], keys["secret_key"])
        self.wait_for(self._agents_listed, "the agents in the read models")

    def close(self) -> None:
        self.procs.stop_all()
        self.procs.close()

    def client(self, access_key: str, secret_key: str) -> SignedClient:
        return SignedClient(self.base_url, access_key, secret_key)

    def wait_for(self, condition: Callable[[], Any], what: str, timeout: float = PATIENCE) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            outcome = condition()
            if outcome:
                return outcome
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout:.0f} s for {what}\n{self.procs.logs(30)}")
            time.sleep(0.1)

    def _healthy(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/v1/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _agents_listed(self) -> bool:
        assert self.admin is not None
        reply = self.admin.get("/v1/agents")
        if reply.status_code != 200:
            return False
        alive = [a for a in reply.json()["items"] if a["status"] == "ALIVE"]
        return len(alive) == len(AGENTS)


@contextmanager
def running_stack(root: Path) -> Iterator[GatewayStack]:
    """A stack under ``root`` on a nats-server and SQLite store of its own, closed after."""
    nats = NatsServer(root / "jetstream")
    nats.start()
    running = GatewayStack(StoreSettings(sqlite_path=root / "events.sqlite3"), nats.url, root)
    try:
        running.start()
        yield running
    finally:
        running.close()
        nats.stop()
