"""Fixtures of the audit tests: a store and its nats-server, and a fresh pair to import into."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.conftest import PG_ADMIN_DSN, NatsServer
from tests.integration.audit.site import Site


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
    database: str | None = None
    if store_settings.backend == "sqlite":
        settings = StoreSettings(sqlite_path=tmp_path / "fresh.sqlite3")
    else:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        database = f"berth_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        params = conninfo_to_dict(PG_ADMIN_DSN)
        params["dbname"] = database
        settings = StoreSettings(backend="postgres", pg_dsn=make_conninfo(**params))  # type: ignore[arg-type]
    try:
        yield Site(settings, server.url, tmp_path / "fresh-berth")
    finally:
        server.stop()
        if database is not None:
            import psycopg

            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
