"""The public surface on the embedded stack with real Podman: the ``berth`` CLI, REST, GraphQL.

One ``berth up --no-demo`` for the module; everything goes through the gateway as
a user's tools would: the CLI signs with the first administrator's keypair, a
GraphQL subscription listens over a real WebSocket, and a second user made with
``berth admin`` can neither see nor destroy the first user's session.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from berth_sdk import AsyncClient

from tests.e2e.stack_process import BerthUp

PATIENCE = 120.0
BERTH = str(Path(sys.executable).with_name("berth"))


class Cli:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, config: Path) -> None:
        self.env = {
            **os.environ,
            "BERTH_ENDPOINT": endpoint,
            "BERTH_ACCESS_KEY": access_key,
            "BERTH_SECRET_KEY": secret_key,
            "BERTH_CONFIG_DIR": str(config),
            "NO_COLOR": "1",
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BERTH, *args], env=self.env, capture_output=True, text=True, timeout=PATIENCE
        )


class Deployment:
    def __init__(self, stack: BerthUp, endpoint: str, admin: Cli) -> None:
        self.stack = stack
        self.endpoint = endpoint
        self.admin = admin


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, small_image: str) -> Iterator[Deployment]:
    data_dir = tmp_path_factory.mktemp("stack") / "data"
    stack = BerthUp(data_dir, "--no-demo", env={"BERTH_STORE": "sqlite"})
    try:
        stack.wait_for_line("berth is up")
        endpoint = f"http://127.0.0.1:{stack.gateway_port}"
        keys = json.loads((data_dir / "admin-credentials.json").read_text())
        admin = Cli(
            endpoint, keys["access_key"], keys["secret_key"], tmp_path_factory.mktemp("cfg")
        )
        deployment = Deployment(stack, endpoint, admin)
        _wait_for_agent(deployment)
        yield deployment
    finally:
        stack.close()


def _wait_for_agent(deployment: Deployment) -> None:
    """Until the stack's agent is listed with the small image (it registers after start)."""
    deadline = time.monotonic() + PATIENCE
    while True:
        listed = deployment.admin("image", "ls", "--json")
        if listed.returncode == 0 and "berth-small" in listed.stdout:
            return
        assert time.monotonic() < deadline, (listed.stdout, listed.stderr, deployment.stack.output)
        time.sleep(0.5)


def test_berth_run_prints_the_output_and_exits_with_the_command_code(
    deployment: Deployment,
) -> None:
    done = deployment.admin("run", "berth-small", "--", "echo", "42")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["42"], done
    failed = deployment.admin("run", "berth-small", "--", "sh", "-c", "echo no >&2; exit 7")
    assert failed.returncode == 7, failed.stderr
    assert "no" in failed.stdout


async def _statuses_over_websocket(
    deployment: Deployment, token: str, name: str, started: asyncio.Event
) -> list[str]:
    url = deployment.endpoint.replace("http://", "ws://") + "/graphql"
    query = "subscription($f: SessionFilter) { sessionStatus(filter: $f) { name status reason } }"
    seen: list[str] = []
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": query, "variables": {"f": {"name": name}}},
                }
            )
        )
        started.set()
        async with asyncio.timeout(PATIENCE):
            while not seen or seen[-1] not in ("TERMINATED", "ERROR", "CANCELLED"):
                message: dict[str, Any] = json.loads(await ws.recv())
                assert message["type"] == "next", message
                change = message["payload"]["data"]["sessionStatus"]
                assert change["name"] == name
                seen.append(change["status"])
    return seen


async def test_a_graphql_subscription_sees_every_status_in_order(deployment: Deployment) -> None:
    # A program's bearer token, from the SDK the CLI is built on.
    async with AsyncClient(
        deployment.endpoint,
        access_key=deployment.admin.env["BERTH_ACCESS_KEY"],
        secret_key=deployment.admin.env["BERTH_SECRET_KEY"],
    ) as client:
        token = (await client.issue_token(ttl_seconds=600)).token
    name = f"watched-{uuid.uuid4().hex[:6]}"
    started = asyncio.Event()
    watching = asyncio.create_task(_statuses_over_websocket(deployment, token, name, started))
    await asyncio.wait_for(started.wait(), 30)
    done = await asyncio.to_thread(
        deployment.admin, "run", "--name", name, "berth-small", "--", "echo", "watched"
    )
    assert done.returncode == 0, done.stderr
    seen = await watching
    assert seen == ["PENDING", "SCHEDULED", "PREPARING", "RUNNING", "TERMINATED"], seen


def test_a_second_user_can_neither_see_nor_destroy_the_first_users_session(
    deployment: Deployment, tmp_path: Path
) -> None:
    admin = deployment.admin
    created = admin(
        "session", "create", "berth-small", "--name", f"private-{uuid.uuid4().hex[:6]}", "--json"
    )
    assert created.returncode == 0, created.stderr
    session_id = json.loads(created.stdout)["session_id"]

    username = f"bob-{uuid.uuid4().hex[:6]}"
    made = admin("admin", "user", "create", username)
    assert made.returncode == 0, made.stderr
    issued = admin("admin", "keypair", "issue", username, "--json")
    assert issued.returncode == 0, issued.stderr
    keys = json.loads(issued.stdout)
    bob = Cli(deployment.endpoint, keys["access_key"], keys["secret_key"], tmp_path)

    assert bob("whoami").returncode == 0
    shown = bob("session", "show", session_id)
    assert shown.returncode == 4, (shown.stdout, shown.stderr)
    assert "Traceback" not in shown.stderr
    removed = bob("session", "rm", session_id)
    assert removed.returncode == 4, (removed.stdout, removed.stderr)
    listed = bob("session", "ls", "--json")
    assert listed.returncode == 0 and session_id not in listed.stdout

    still = admin("session", "show", session_id, "--json")
    assert still.returncode == 0 and json.loads(still.stdout)["status"] != "TERMINATED"
    assert admin("session", "rm", session_id).returncode == 0
