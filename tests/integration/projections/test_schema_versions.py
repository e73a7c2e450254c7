"""A read model whose tables are of an older version is rebuilt from the stream at start."""

from __future__ import annotations

from nats.aio.client import Client as NATS

from projections.read_store import open_read_store
from projections.schema import install_schemas, stored_schema
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings
from tests.integration.projections.backbone import Backbone, dump_model, query
from tests.integration.projections.test_runner import run_until

#: ``session_view`` as version 1 made it: keyed by the session id, ordered by time
_FIRST_VERSION = [
    "CREATE TABLE session_view (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX session_view_created ON session_view (created_at, id)",
    "INSERT INTO session_view (id, name, created_at) VALUES ('old', 'old', 'then')",
    "CREATE TABLE projection_position (name TEXT PRIMARY KEY,"
    " notification_id BIGINT NOT NULL, stream_seq BIGINT NOT NULL)",
    "INSERT INTO projection_position VALUES ('sessions', 120, 120)",
]


def _schema(settings: ReadStoreSettings, name: str) -> int | None:
    store = open_read_store(settings)
    try:
        with store.transaction(pipelined=False) as tx:
            install_schemas(tx)
            return stored_schema(tx, name)
    finally:
        store.close()


async def test_tables_of_an_earlier_version_are_dropped_and_projected_again(
    backbone: Backbone,
    nc: NATS,
    read_settings: ReadStoreSettings,
    reference_settings: ReadStoreSettings,
) -> None:
    last = await backbone.relay_sessions(300, cancel_every=3)
    await run_until(reference_settings, nc, last)

    # A store as an earlier Berth left it: the old tables, holding rows, with a position
    # and no schema versions kept.
    store = open_read_store(read_settings)
    try:
        with store.transaction(pipelined=False) as tx:
            for statement in _FIRST_VERSION:
                tx.execute(statement)
    finally:
        store.close()
    assert _schema(read_settings, "sessions") == 1

    runner = await run_until(read_settings, nc, last)

    assert runner.applied == last  # every event again, from the first
    assert _schema(read_settings, "sessions") == SessionView.schema_version == 2
    assert dump_model(read_settings, SessionView()) == dump_model(reference_settings, SessionView())
    assert query(read_settings, "SELECT id FROM session_view WHERE id = 'old'") == []


async def test_tables_of_the_current_version_are_kept(
    backbone: Backbone, nc: NATS, read_settings: ReadStoreSettings
) -> None:
    first = await backbone.relay_sessions(50)
    await run_until(read_settings, nc, first)
    last = await backbone.relay_sessions(50)

    again = await run_until(read_settings, nc, last)

    assert again.applied == last - first  # went on from its position
    assert _schema(read_settings, "sessions") == 2
    assert len(query(read_settings, "SELECT id FROM session_view")) == 100
