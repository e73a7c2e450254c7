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

from services.manager.settings import DEFAULT_PG_DSN, backend_from_env, data_dir, pg_from_env


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
        path = os.environ.get("BERTH_READMODELS_PATH")
        pg_dsn, pg_schema = pg_from_env()
        return cls(
            backend=backend_from_env(),
            sqlite_path=Path(path) if path else data_dir() / "readmodels.sqlite3",
            pg_dsn=pg_dsn,
            pg_schema=pg_schema,
        )
