"""``berth events rebuild``: a read model rebuilt from the stream, through the CLI."""

from __future__ import annotations

from projections.read_store import open_read_store
from projections.registry import projection_names
from projections.settings import ReadStoreSettings
from services.manager.store import EventStore
from tests.integration.audit.site import Site, berth, relay_all, request_sessions


def session_view_rows(site: Site) -> int:
    if site.settings.backend == "sqlite":
        settings = ReadStoreSettings(sqlite_path=site.data_dir / "readmodels.sqlite3")
    else:
        settings = ReadStoreSettings(backend="postgres", pg_dsn=site.settings.pg_dsn)
    store = open_read_store(settings)
    try:
        with store.transaction(pipelined=False) as tx:
            return len(tx.fetchall("SELECT id FROM session_view"))
    finally:
        store.close()


def test_rebuild_fills_the_read_model_from_the_stream(site: Site, source: EventStore) -> None:
    request_sessions(source, 60, cancel_every=3)
    last = relay_all(source, site.nats_url)

    result = berth(site, "events", "rebuild", "sessions")

    assert result.exit_code == 0, result.output
    assert f"rebuilt read model 'sessions' from {last} events" in result.output
    assert session_view_rows(site) == 60


def test_rebuild_of_an_unknown_read_model_names_the_known_ones(
    site: Site, source: EventStore
) -> None:
    request_sessions(source, 1)
    relay_all(source, site.nats_url)

    result = berth(site, "events", "rebuild", "no-such-model")

    assert result.exit_code == 2
    known = ", ".join(projection_names())
    assert "sessions" in projection_names()
    assert f"no read model named 'no-such-model' (known: {known})" in result.output
    assert "Traceback" not in result.output
