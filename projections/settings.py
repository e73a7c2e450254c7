"""Where the read models live: one typed object, read from ``BERTH_*`` environment variables.

The read models follow the event store's backend: with ``BERTH_STORE=postgres``
they go into the same PostgreSQL database (``BERTH_PG_DSN``), otherwise into a
SQLite file of their own beside the event store, so that projecting never
contends with the manager's writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from services.manager.settings import data_dir

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/berth"


@dataclass(frozen=True)
class ReadStoreSettings:
    backend: str = "sqlite"
    sqlite_path: Path = field(default_factory=lambda: data_dir() / "readmodels.sqlite3")
    pg_dsn: str = DEFAULT_PG_DSN
    #: a PostgreSQL schema for the read-model tables; empty means the server's default
    pg_schema: str = ""

    def __post_init__(self) -> None:
        if self.backend not in ("sqlite", "postgres"):
            raise ValueError(
                f"read store backend must be 'sqlite' or 'postgres', not {self.backend!r}"
            )

    @classmethod
    def from_env(cls) -> ReadStoreSettings:
        backend = os.environ.get("BERTH_STORE", "sqlite").lower()
        if backend not in ("sqlite", "postgres"):
            raise ValueError(f"BERTH_STORE must be 'sqlite' or 'postgres', not {backend!r}")
        path = os.environ.get("BERTH_READMODELS_PATH")
        return cls(
            backend=backend,
            sqlite_path=Path(path) if path else data_dir() / "readmodels.sqlite3",
            pg_dsn=os.environ.get("BERTH_PG_DSN", DEFAULT_PG_DSN),
            pg_schema=os.environ.get("BERTH_PG_SCHEMA", ""),
        )
