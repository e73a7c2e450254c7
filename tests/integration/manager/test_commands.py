"""Commands over real NATS request/reply, decided by the manager, stored, and relayed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

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


@pytest.fixture
async def manager(
    nats_server: NatsServer, store_settings: StoreSettings
) -> AsyncIterator[tuple[EventStore, NATS]]:
    store = EventStore(store_settings)
    nc = await nats.connect(nats_server.url)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(store, nc, stop))
    client_nc = await nats.connect(nats_server.url)
    for _ in range(100):  # until the command subscription answers
        try:
            await client_nc.request("berth.cmd.session.request", b"{}", timeout=0.2)
            break
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            await asyncio.sleep(0.05)
    yield store, client_nc
    stop.set()
    await asyncio.wait_for(task, 10)
    await client_nc.close()
    await nc.close()
    store.close()


async def stream_count(nc: NATS) -> int:
    return int((await nc.jetstream().stream_info(EVENTS_STREAM)).state.messages)


async def wait_for_stream(nc: NATS, count: int) -> None:
    for _ in range(200):
        if await stream_count(nc) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"stream never reached {count} events")


async def test_commands_become_events_on_the_stream_in_order(
    manager: tuple[EventStore, NATS],
) -> None:
    store, nc = manager
    client = ManagerClient(nc)
    created = [
        await client.request_session(name=f"s{i}", owner="alice", image="python") for i in range(5)
    ]
    assert all(reply.ok for reply in created)
    cancelled = await client.cancel_session(str(created[2].session_id), owner="alice")
    assert cancelled.ok
    await wait_for_stream(nc, 6)
    js = nc.jetstream()
    messages = [await js.get_msg(EVENTS_STREAM, seq=seq) for seq in range(1, 7)]
    ids = [m.headers[MSG_ID_HEADER] for m in messages if m.headers]
    assert ids == [str(i) for i in range(1, 7)]
    assert messages[5].subject == f"berth.ev.session.{created[2].session_id}.SessionCancelled"
    stored = store.app_recorder.select_notifications(1, 10)
    assert [m.data for m in messages] == [n.state for n in stored]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{broken", "malformed-command"),
        (b'{"request_id": "x", "name": 3}', "invalid-command"),
        (
            b'{"request_id": "x", "name": "n", "owner": "o", "image": "i", "session_type": "gpu"}',
            "invalid-command",
        ),
        (b"x" * (70 * 1024), "too-large"),
    ],
)
async def test_refused_commands_answer_with_a_code_and_write_nothing(
    manager: tuple[EventStore, NATS], body: bytes, code: str
) -> None:
    store, nc = manager
    before = store.max_notification_id()
    reply = await nc.request("berth.cmd.session.request", body, timeout=5)
    answer = msgspec.json.decode(reply.data)
    assert answer["ok"] is False
    assert answer["error"]["code"] == code
    assert store.max_notification_id() == before


async def test_a_repeated_request_id_is_decided_once(manager: tuple[EventStore, NATS]) -> None:
    store, nc = manager
    client = ManagerClient(nc)
    before = store.max_notification_id()
    replies = await asyncio.gather(
        *[
            client.request_session(name="once", owner="bob", image="python", request_id="same")
            for _ in range(5)
        ]
    )
    assert len({r.session_id for r in replies}) == 1
    assert sum(not r.duplicate for r in replies) == 1
    assert store.max_notification_id() == before + 1
