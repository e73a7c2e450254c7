"""Fixtures of the audit tests: a store and its nats-server, and a fresh pair to import into."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.conftest import PG_ADMIN_DSN, NatsServer
from tests.integration.audit.site import Site
from tests.scratch_pg import scratch_database


@pytest.fixture
def site(store_settings: StoreSettings, nats_server: NatsServer, tmp_path: Path) -> Site:
    return Site(store_settings, nats_server.url, tmp_path / "berth")


@pytest.fixture
def source(site: Site) -> Iterator[EventStore]:
    with site.open() as store:
        yield store


@pytest.fixture
def fresh_site(store_settings: StoreSettings, tmp_path: Path) -> Iterator[Site]:
    """A second, empty store on the same backend, with a nats-server of its own."""
    server = NatsServer(tmp_path / "fresh-jetstream")
    server.start()
    with contextlib.ExitStack() as scratch:
        if store_settings.backend == "sqlite":
            settings = StoreSettings(sqlite_path=tmp_path / "fresh.sqlite3")
        else:
            dsn = scratch.enter_context(scratch_database(PG_ADMIN_DSN, "berth_test"))
            settings = StoreSettings(backend="postgres", pg_dsn=dsn)
        try:
            yield Site(settings, server.url, tmp_path / "fresh-berth")
        finally:
            server.stop()
