"""Fixtures of the relay tests: the store they check against, their processes, their seed."""

from __future__ import annotations

import os
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS

from events.streams import ensure_streams
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.conftest import NatsServer
from tests.integration.relay.processes import Processes, berth_env


@pytest.fixture
def event_store(store_settings: StoreSettings) -> Iterator[EventStore]:
    """The store, opened (and its tables created) before any other process opens it."""
    with EventStore(store_settings) as store:
        yield store


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[NATS]:
    """The test's own connection; it rides out server restarts like the relay does."""
    client = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    await ensure_streams(client.jetstream())
    yield client
    await client.close()


@pytest.fixture
def processes(
    event_store: EventStore, nats_server: NatsServer, tmp_path: Path
) -> Iterator[Processes]:
    env = berth_env(event_store.settings, nats_server.url, tmp_path / "berth")
    procs = Processes(env, tmp_path / "logs")
    yield procs
    procs.close()


@pytest.fixture
def fault_seed(request: pytest.FixtureRequest) -> int:
    """Fixed per test, so a failure can be replayed; BERTH_TEST_SEED overrides it."""
    seed = int(os.environ.get("BERTH_TEST_SEED") or zlib.crc32(request.node.name.encode()))
    print(f"random seed {seed} (replay with BERTH_TEST_SEED={seed})")
    return seed
