"""Shared fixtures: a real nats-server from the venv, and event stores on SQLite and PostgreSQL.

Tests that take ``store_settings`` run once per backend; the PostgreSQL run uses
the server on 127.0.0.1:5432 (or ``BERTH_TEST_PG_DSN``) with a fresh database,
and skips with the reason when none is reachable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.natsd import NatsServerConfig, free_port, start_nats_server
from images.build import build_images
from services.manager.settings import StoreSettings
from tests.scratch_pg import scratch_database

PG_ADMIN_DSN = os.environ.get("BERTH_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_unreachable_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=2):
            return None
    except Exception as exc:  # any failure means: no PostgreSQL to test against
        return f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}"


@pytest.fixture(scope="session")
def pg_unreachable() -> str | None:
    return _pg_unreachable_reason()


class NatsServer:
    """A nats-server process of the test's own, which tests may stop and restart."""

    def __init__(self, store_dir: Path, sync: str = "default") -> None:
        self.config = NatsServerConfig(store_dir=store_dir, port=free_port(), sync=sync)
        self.log_path = store_dir.parent / "nats.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.config.url

    def start(self) -> None:
        self.proc = start_nats_server(self.config, self.log_path)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "jetstream")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_database(pg_unreachable: str | None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database; yields its DSN."""
    if pg_unreachable:
        pytest.skip(pg_unreachable)
    with scratch_database(PG_ADMIN_DSN, "berth_test") as dsn:
        yield dsn


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSettings:
    """Store settings for each backend; a test using this runs on both."""
    if request.param == "sqlite":
        return StoreSettings(backend="sqlite", sqlite_path=tmp_path / "events.sqlite3")
    dsn = request.getfixturevalue("pg_database")
    return StoreSettings(backend="postgres", pg_dsn=dsn)


@pytest.fixture(scope="session")
def small_image() -> str:
    """``berth-small`` (busybox, about 2 MB), built once if it is missing; returns its name."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed on this machine")
    build_images(["berth-small"], say=lambda line: None)
    return "berth-small"
