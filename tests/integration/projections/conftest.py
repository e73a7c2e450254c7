"""Fixtures of the projection tests: a store and relay feeding a real nats-server; read stores."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS

from events.streams import StreamDurability, ensure_streams
from projections.settings import ReadStoreSettings
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.conftest import NatsServer
from tests.integration.projections.backbone import Backbone


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[NATS]:
    client = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    await ensure_streams(client.jetstream(), StreamDurability())
    yield client
    await client.close()


@pytest.fixture
def event_store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(StoreSettings(sqlite_path=tmp_path / "events.sqlite3")) as store:
        yield store


@pytest.fixture
async def backbone(event_store: EventStore, nc: NATS) -> AsyncIterator[Backbone]:
    feed = Backbone(event_store, nc)
    await feed.start()
    yield feed
    await feed.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def read_settings(request: pytest.FixtureRequest, tmp_path: Path) -> ReadStoreSettings:
    """The read store on each backend; a test using this runs on both."""
    if request.param == "sqlite":
        return ReadStoreSettings(sqlite_path=tmp_path / "readmodels.sqlite3")
    dsn = request.getfixturevalue("pg_database")
    return ReadStoreSettings(backend="postgres", pg_dsn=dsn)


@pytest.fixture
def reference_settings(tmp_path: Path) -> ReadStoreSettings:
    """A second, SQLite read store for a model built in one uninterrupted go."""
    return ReadStoreSettings(sqlite_path=tmp_path / "reference.sqlite3")
