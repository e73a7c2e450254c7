"""The manager over real NATS request/reply: commands decided, stored, relayed, refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import nats
import pytest
from nats.aio.client import Client as NATS

from events.streams import EVENTS_STREAM
from events.subjects import MSG_ID_HEADER
from services.manager.bootstrap import serve
from services.manager.client import ManagerClient
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.conftest import NatsServer


@dataclass
class Manager:
    store: EventStore
    nc: NATS
    client: ManagerClient
    admin: str


@pytest.fixture
async def manager(
    nats_server: NatsServer,
    store_settings: StoreSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Manager]:
    monkeypatch.setenv("BERTH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BERTH_SCHEDULER_TICK", "0.2")
    store = EventStore(store_settings)
    server_nc = await nats.connect(nats_server.url)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(store, server_nc, stop))
    nc = await nats.connect(nats_server.url)
    client = ManagerClient(nc)
    for _ in range(200):  # until the manager answers
        try:
            await nc.request("berth.cmd.session.request", b"{}", timeout=0.2)
            break
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            await asyncio.sleep(0.05)
    admin = json.loads((tmp_path / "admin-credentials.json").read_text())["access_key"]
    await client.register_agent(name="agent-1", capacity={"cpu": 4, "mem": "8g"}, images=["python"])
    yield Manager(store, nc, client, admin)
    stop.set()
    await asyncio.wait_for(task, 15)
    await nc.close()
    await server_nc.close()
    store.close()


async def stream_subjects(nc: NATS, wanted: int) -> list[str]:
    js = nc.jetstream()
    for _ in range(200):
        if (await js.stream_info(EVENTS_STREAM)).state.messages >= wanted:
            break
        await asyncio.sleep(0.05)
    count = (await js.stream_info(EVENTS_STREAM)).state.messages
    return [(await js.get_msg(EVENTS_STREAM, seq=seq)).subject for seq in range(1, count + 1)]


async def test_a_request_is_stored_relayed_and_scheduled(manager: Manager) -> None:
    reply = await manager.client.request_session(
        actor=manager.admin, name="job", image="python", resources={"cpu": 2, "mem": "1g"}
    )
    assert reply.ok and reply.session_id
    session = reply.session_id
    for _ in range(100):
        subjects = await stream_subjects(manager.nc, 1)
        if f"berth.ev.session.{session}.SessionScheduled" in subjects:
            break
        await asyncio.sleep(0.05)
    assert f"berth.ev.session.{session}.SessionRequested" in subjects
    assert f"berth.ev.session.{session}.SessionScheduled" in subjects
    assert any(s.endswith(".KernelAssigned") for s in subjects)
    js = manager.nc.jetstream()
    count = len(subjects)
    ids = [
        (await js.get_msg(EVENTS_STREAM, seq=seq)).headers[MSG_ID_HEADER]  # type: ignore[index]
        for seq in range(1, count + 1)
    ]
    stored = manager.store.app_recorder.select_notifications(1, count)
    assert ids == [str(n.id) for n in stored]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{broken", "malformed-command"),
        (b'{"request_id": "x", "actor": "a", "name": 3, "image": "i"}', "invalid-command"),
        (
            b'{"request_id": "x", "actor": "a", "name": "n", "image": "i", "session_type": "gpu"}',
            "invalid-command",
        ),
        (b"x" * (70 * 1024), "too-large"),
        (
            b'{"request_id": "x", "actor": "AKNOBODY", "name": "n", "image": "python",'
            b' "resources": {"cpu": 1}}',
            "unauthenticated",
        ),
    ],
)
async def test_refused_commands_answer_with_a_code_and_write_nothing(
    manager: Manager, body: bytes, code: str
) -> None:
    before = manager.store.max_notification_id()
    reply = await manager.nc.request("berth.cmd.session.request", body, timeout=5)
    answer = msgspec.json.decode(reply.data)
    assert answer["ok"] is False
    assert answer["error"]["code"] == code
    assert manager.store.max_notification_id() == before


async def test_a_repeated_request_id_is_decided_once(manager: Manager) -> None:
    before = manager.store.max_notification_id()
    replies = await asyncio.gather(
        *[
            manager.client.request_session(
                actor=manager.admin,
                name="once",
                image="python",
                resources={"cpu": 1},
                request_id="same",
            )
            for _ in range(5)
        ]
    )
    assert len({r.session_id for r in replies}) == 1
    assert sum(not r.duplicate for r in replies) == 1
    requested = [
        n
        for n in manager.store.app_recorder.select_notifications(before + 1, 1000)
        if n.topic.startswith("session.SessionRequested")
    ]
    assert len(requested) == 1
