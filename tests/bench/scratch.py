"""Fresh, temporary state for one benchmark run: a nats-server of its own and empty databases.

Nothing a benchmark measures may be helped or hurt by what an earlier run left
behind, so every run starts from an empty JetStream store, a new SQLite file
and, for PostgreSQL, a new database that is dropped afterwards.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy.natsd import NatsServerConfig, free_port, start_nats_server
from tests.scratch_pg import scratch_database

DEFAULT_PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class ScratchNats:
    config: NatsServerConfig
    pid: int

    @property
    def url(self) -> str:
        return self.config.url


@contextmanager
def nats_server(work_dir: Path) -> Iterator[ScratchNats]:
    """The venv's nats-server on a free port, storing under ``work_dir``; stopped on exit."""
    config = NatsServerConfig(store_dir=work_dir / "jetstream", port=free_port())
    proc = start_nats_server(config, work_dir / "nats.log")
    try:
        yield ScratchNats(config, proc.pid)
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def pg_unreachable_reason(admin_dsn: str) -> str | None:
    """Why PostgreSQL cannot be benchmarked, or None when it can."""
    try:
        import psycopg

        with psycopg.connect(admin_dsn, connect_timeout=2):
            return None
    except Exception as exc:  # any failure means: no PostgreSQL to measure
        return f"PostgreSQL not reachable at {admin_dsn}: {exc}"


def pg_database(admin_dsn: str, purpose: str) -> AbstractContextManager[str]:
    """A new, empty database for one measurement; yields its DSN and drops it on exit."""
    return scratch_database(admin_dsn, f"berth_bench_{purpose}")


@contextmanager
def store_env(backend: str, work: Path, pg_admin_dsn: str, label: str) -> Iterator[dict[str, str]]:
    """The manager's store settings for a run: a SQLite file in ``work``, or a scratch
    PostgreSQL database (named after ``label``) dropped afterwards."""
    if backend == "sqlite":
        yield {"BERTH_STORE": "sqlite", "BERTH_SQLITE_PATH": str(work / "events.sqlite3")}
        return
    with pg_database(pg_admin_dsn, label) as dsn:
        yield {"BERTH_STORE": "postgres", "BERTH_PG_DSN": dsn}
