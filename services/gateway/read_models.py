"""Read-only connections to the read models, reused across requests.

Each use is one read transaction, so a query that reads two tables (sessions
and their kernels) sees one moment of the projections. SQLite connections are
pooled by hand (opening one is cheap, but not free); PostgreSQL uses
``psycopg_pool``. While the projections have not made their tables yet, queries
fail with :class:`ReadModelsUnavailable` (answered 503), not with SQL errors.
"""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from projections.queries import Reader
from projections.read_store import Row, to_psycopg
from projections.settings import ReadStoreSettings


class ReadModelsUnavailable(Exception):
    """The read models cannot be read now (not created yet, or the database is down)."""


class _SqliteReader:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._conn.execute(sql, params).fetchall())


class _PostgresReader:
    dialect = "postgres"

    def __init__(self, conn: Any) -> None:
        self._cur = conn.cursor()

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._cur.execute(to_psycopg(sql), params).fetchone()
        return row

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self._cur.execute(to_psycopg(sql), params).fetchall())


class ReadModels:
    """``with read_models.connection() as reader:`` — blocking; use it on a worker thread."""

    def __init__(self, settings: ReadStoreSettings, *, size: int = 8) -> None:
        self._settings = settings
        self._size = size
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._pool: Any = None
        if settings.backend == "postgres":
            self._pool = self._postgres_pool()

    def _postgres_pool(self) -> Any:
        import psycopg
        from psycopg_pool import ConnectionPool

        schema = self._settings.pg_schema

        def configure(conn: Any) -> None:
            conn.read_only = True  # before any statement opens a transaction
            if schema:
                ident = psycopg.sql.Identifier(schema)
                conn.execute(psycopg.sql.SQL("SET search_path TO {}").format(ident))
            conn.commit()

        return ConnectionPool(
            self._settings.pg_dsn,
            min_size=1,
            max_size=self._size,
            configure=configure,
            open=False,
            timeout=10,
        )

    def open(self) -> None:
        if self._pool is not None:
            self._pool.open(wait=False)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    @contextmanager
    def connection(self) -> Iterator[Reader]:
        if self._pool is not None:
            with self._postgres() as reader:
                yield reader
        else:
            with self._sqlite() as reader:
                yield reader

    def _sqlite_connect(self) -> sqlite3.Connection:
        path = self._settings.sqlite_path
        if not path.exists():
            raise ReadModelsUnavailable(f"the read models at {path} do not exist yet")
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        conn.execute("PRAGMA query_only = ON")
        return conn

    @contextmanager
    def _sqlite(self) -> Iterator[Reader]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._sqlite_connect()
        broken = False
        try:
            conn.execute("BEGIN")
            try:
                yield _SqliteReader(conn)
            finally:
                conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            broken = True
            raise ReadModelsUnavailable(f"the read models cannot be read: {exc}") from exc
        finally:
            if not broken and self._idle.qsize() < self._size:
                self._idle.put(conn)
            else:
                conn.close()

    @contextmanager
    def _postgres(self) -> Iterator[Reader]:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection() as conn, conn.transaction():
                yield _PostgresReader(conn)
        except (psycopg.errors.UndefinedTable, psycopg.OperationalError, PoolTimeout) as exc:
            raise ReadModelsUnavailable(f"the read models cannot be read: {exc}") from exc
