"""Where the read models live, and which read models there are."""

from __future__ import annotations

from pathlib import Path

import pytest

from projections.registry import UnknownProjection, create_all, create_projection, projection_names
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings


def test_read_models_default_to_a_sqlite_file_in_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("BERTH_STORE", "BERTH_READMODELS_PATH", "BERTH_PG_DSN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BERTH_DATA_DIR", str(tmp_path))
    settings = ReadStoreSettings.from_env()
    assert settings.backend == "sqlite"
    assert settings.sqlite_path == tmp_path.resolve() / "readmodels.sqlite3"


def test_read_models_follow_the_event_store_into_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTH_STORE", "postgres")
    monkeypatch.setenv("BERTH_PG_DSN", "postgresql://berth@db.example:5432/berth")
    settings = ReadStoreSettings.from_env()
    assert (settings.backend, settings.pg_dsn) == (
        "postgres",
        "postgresql://berth@db.example:5432/berth",
    )


def test_an_unknown_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTH_STORE", "mongodb")
    with pytest.raises(ValueError, match="BERTH_STORE"):
        ReadStoreSettings.from_env()
    with pytest.raises(ValueError, match="backend"):
        ReadStoreSettings(backend="mongodb")


def test_every_read_model_is_registered_under_its_own_name() -> None:
    assert "sessions" in projection_names()
    assert isinstance(create_projection("sessions"), SessionView)
    assert [p.name for p in create_all()] == projection_names()


def test_an_unknown_read_model_names_the_known_ones() -> None:
    with pytest.raises(UnknownProjection, match=r"known: .*sessions"):
        create_projection("nope")
