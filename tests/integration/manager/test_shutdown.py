"""The manager stopping after nats-server has gone, as when the whole stack stops at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS

from services.manager.bootstrap import serve
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.conftest import NatsServer


def _reconnecting_clients(tasks: set[asyncio.Task[object]]) -> list[NATS]:
    """The NATS clients of ``tasks`` that are trying to reconnect."""
    clients = []
    for task in tasks:
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None)
        if getattr(coro, "__qualname__", "") == "Client._attempt_reconnect" and frame is not None:
            clients.append(frame.f_locals["self"])
    return clients


async def test_serve_ends_and_closes_its_connections_when_nats_server_went_first(
    nats_server: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BERTH_DATA_DIR", str(tmp_path))
    store = EventStore(StoreSettings(backend="sqlite", sqlite_path=tmp_path / "events.sqlite3"))
    manager_nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(store, manager_nc, stop))
    probe = await nats.connect(nats_server.url)
    for _ in range(200):  # until the manager answers commands
        try:
            await probe.request("berth.cmd.session.request", b"{}", timeout=0.2)
            break
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            await asyncio.sleep(0.05)
    else:
        pytest.fail("the manager never answered")
    await probe.close()

    nats_server.kill()
    for _ in range(100):
        if manager_nc.is_reconnecting:
            break
        await asyncio.sleep(0.05)
    assert manager_nc.is_reconnecting
    stop.set()
    # The command broker's connection is reconnecting too, and refuses to drain: that
    # failure used to end serve before it had closed the connection or awaited its tasks.
    await asyncio.wait_for(task, 15)

    others = [c for c in _reconnecting_clients(asyncio.all_tasks()) if c is not manager_nc]
    assert others == [], "a connection of the manager's is still trying to reconnect"
    await manager_nc.close()
    store.close()
