"""The manager's settings: one typed object, read from ``BERTH_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("BERTH_DATA_DIR", ".berth")).resolve()


DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/berth"


def backend_from_env() -> str:
    """``BERTH_STORE``: the event store's backend, and the read models' with it."""
    backend = os.environ.get("BERTH_STORE", "sqlite").lower()
    if backend not in ("sqlite", "postgres"):
        raise ValueError(f"BERTH_STORE must be 'sqlite' or 'postgres', not {backend!r}")
    return backend


def pg_from_env() -> tuple[str, str]:
    """``BERTH_PG_DSN`` and ``BERTH_PG_SCHEMA``, shared by the event store and the read models."""
    return os.environ.get("BERTH_PG_DSN", DEFAULT_PG_DSN), os.environ.get("BERTH_PG_SCHEMA", "")


@dataclass(frozen=True)
class StoreSettings:
    """Where the event store lives: ``sqlite`` (one file, the default) or ``postgres``.

    ``memory`` keeps events in the process only; it exists for unit tests.
    """

    backend: str = "sqlite"
    sqlite_path: Path = field(default_factory=lambda: data_dir() / "events.sqlite3")
    pg_dsn: str = DEFAULT_PG_DSN
    pg_schema: str = ""

    @classmethod
    def from_env(cls) -> StoreSettings:
        sqlite_path = os.environ.get("BERTH_SQLITE_PATH")
        pg_dsn, pg_schema = pg_from_env()
        return cls(
            backend=backend_from_env(),
            sqlite_path=Path(sqlite_path) if sqlite_path else data_dir() / "events.sqlite3",
            pg_dsn=pg_dsn,
            pg_schema=pg_schema,
        )


@dataclass(frozen=True)
class NatsSettings:
    url: str = "nats://127.0.0.1:14222"

    @classmethod
    def from_env(cls) -> NatsSettings:
        return cls(url=os.environ.get("BERTH_NATS_URL", cls.url))


@dataclass(frozen=True)
class ManagerSettings:
    #: seconds between scheduling rounds when nothing wakes the scheduler earlier
    scheduler_tick: float = 1.0
    #: most placements decided (and saved in one transaction) per group and round
    scheduler_batch: int = 1000
    #: seconds the scheduler rests after a round before it answers the next wake-up, so
    #: that a stream of requests is placed in rounds of many, each one transaction
    scheduler_rest: float = 0.005
    #: seconds without a heartbeat after which an agent is declared lost
    agent_lost_after: float = 15.0
    #: seconds between checks of running sessions against their maximum lifetime
    lifetime_check_interval: float = 5.0

    @classmethod
    def from_env(cls) -> ManagerSettings:
        return cls(
            scheduler_tick=float(os.environ.get("BERTH_SCHEDULER_TICK", cls.scheduler_tick)),
            scheduler_batch=int(os.environ.get("BERTH_SCHEDULER_BATCH", cls.scheduler_batch)),
            scheduler_rest=float(os.environ.get("BERTH_SCHEDULER_REST", cls.scheduler_rest)),
            lifetime_check_interval=float(
                os.environ.get("BERTH_LIFETIME_CHECK_INTERVAL", cls.lifetime_check_interval)
            ),
            agent_lost_after=float(os.environ.get("BERTH_AGENT_LOST_AFTER", cls.agent_lost_after)),
        )
