"""The read store: the SQL database that holds the read models, on SQLite or PostgreSQL.

Projections write portable SQL with ``?`` placeholders; the PostgreSQL adapter
translates them, once per statement text, to psycopg's ``%s``. A transaction is
the unit the runner works in: one batch of events, the model's rows and the
projection's position commit together or not at all.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from typing import Any, Protocol

from projections.checkpointer import Checkpointer
from projections.held_writes import HeldWrites, MultiRowInsert
from projections.settings import ReadStoreSettings

Params = Sequence[Any]
Row = tuple[Any, ...]

#: column types that differ between the two databases
BINARY_TYPE = {"sqlite": "BLOB", "postgres": "BYTEA"}


class Tx(Protocol):
    """One open transaction on the read store."""

    @property
    def dialect(self) -> str: ...
    def execute(self, sql: str, params: Params = ()) -> None: ...
    def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...
    def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...
    def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...
    def savepoint(self) -> AbstractContextManager[None]:
        """A nested scope whose writes are undone alone if it raises."""
        ...


class ReadStore(Protocol):
    @property
    def dialect(self) -> str: ...
    @property
    def transient_errors(self) -> tuple[type[Exception], ...]:
        """Errors worth retrying the batch for (locks, lost connections), not parking an event."""
        ...

    def transaction(self, *, pipelined: bool = True) -> AbstractContextManager[Tx]: ...
    def recover(self) -> None:
        """Get ready to work again after a transient error (reconnect if needed)."""
        ...

    def close(self) -> None: ...


def open_read_store(settings: ReadStoreSettings) -> ReadStore:
    if settings.backend == "postgres":
        return PostgresReadStore(settings.pg_dsn, settings.pg_schema)
    return SqliteReadStore(settings)


class _SqliteTx:
    """Writes are held back and sent in runs (:mod:`projections.held_writes`)."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._held = HeldWrites()

    def execute(self, sql: str, params: Params = ()) -> None:
        if not self._held.hold_one(sql, params):
            self.flush()
            self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if not self._held.hold(sql, rows):
            self.flush()
            self._conn.executemany(sql, rows)

    def flush(self) -> None:
        """Send every write held back."""
        self._held.flush(self._conn.execute, self._conn.executemany, self._insert)

    def _insert(self, insert: MultiRowInsert, rows: int, params: list[Any]) -> None:
        self._conn.execute(_sqlite_statement(insert, rows), params)

    def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        self.flush()
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        self.flush()
        return list(self._conn.execute(sql, params).fetchall())

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self.flush()
        self._conn.execute("SAVEPOINT one_event")
        try:
            yield
            self.flush()
        except BaseException:
            self._held.discard()
            self._conn.execute("ROLLBACK TO SAVEPOINT one_event")
            self._conn.execute("RELEASE SAVEPOINT one_event")
            raise
        self._conn.execute("RELEASE SAVEPOINT one_event")


_PLAIN_INSERT = re.compile(r"\s*INSERT\s+INTO\b", re.I)


@lru_cache(maxsize=512)
def _sqlite_statement(insert: MultiRowInsert, rows: int) -> str:
    """The multi-row insert as SQLite runs it best: ``INSERT OR FAIL``.

    A failing row then stops the statement where it is (and raises as ever) instead of
    undoing the statement's earlier rows, so SQLite keeps no statement journal: no copy
    of every page the statement changes. Nothing partial is ever committed: a failed
    statement always rolls back its transaction, or in isolated mode the event's savepoint
    (code that goes on after a failed write must wrap it in :meth:`Tx.savepoint`).
    """
    return _PLAIN_INSERT.sub("INSERT OR FAIL INTO", insert.statement(rows), count=1)


class SqliteReadStore:
    """One SQLite file in WAL mode: readers (the API, tests) never block the runner.

    ``synchronous=NORMAL`` may lose the last commits on a power failure, never
    consistency; since rows and position commit together, the runner then simply
    re-projects those events.

    Indexes that take new rows at many places (by user, by owner) dirty pages all
    over the file. A page cache of 64 MiB keeps the indexes' inner pages in memory.
    A new read store gets pages of 16 KiB (:data:`PAGE_BYTES`): a commit writes each changed
    page to the WAL in two writes of its own (its frame header, then the page), and the
    checkpoint copies it back, so four times fewer pages cost the projection process about a
    tenth less CPU per event (``docs/benchmarks.md``). A store made with another page size
    keeps it: SQLite changes it only by rebuilding the file.
    Multi-row inserts run as ``INSERT OR FAIL`` (:func:`_sqlite_statement`), which keeps
    no statement journal. Any other statement journal stays in memory
    (``temp_store=MEMORY``): a statement that may fail after changing rows keeps a copy of
    every page it changes, so that it can be undone alone, and SQLite otherwise writes that
    copy to a temporary file once it passes 64 KiB.
    Checkpoints (copying the WAL back into the file, and syncing both) run in a
    thread of their own (:mod:`projections.checkpointer`) after every 16,000
    changed rows or 250 commits, so a commit never waits for one; the connection's own
    automatic checkpoint stays as a backstop at 4,000 WAL pages (64 MiB).
    """

    #: the page size of a new read store
    PAGE_BYTES = 16 * 1024
    #: pages in the WAL before a commit itself copies them into the database
    BACKSTOP_CHECKPOINT_PAGES = 4_000
    #: changed rows, or commits, after which the checkpointer copies the WAL into the database
    CHECKPOINT_ROWS = 16_000
    CHECKPOINT_COMMITS = 250
    #: the page cache, in KiB (SQLite's negative form)
    CACHE_KIB = 64 * 1024

    dialect = "sqlite"
    transient_errors: tuple[type[Exception], ...] = (sqlite3.OperationalError,)

    def __init__(self, settings: ReadStoreSettings) -> None:
        self.path = settings.sqlite_path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._connect()
        self._checkpointer = Checkpointer(
            self.path, rows=self.CHECKPOINT_ROWS, commits=self.CHECKPOINT_COMMITS
        )

    @property
    def checkpoints(self) -> int:
        """Checkpoints the store's checkpointer has run."""
        return self._checkpointer.runs

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are begun and ended explicitly below.
        # The connection is used from worker threads, one call at a time.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        # Before the first table: once a database holds one, its page size stays.
        conn.execute(f"PRAGMA page_size={self.PAGE_BYTES}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA wal_autocheckpoint={self.BACKSTOP_CHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA cache_size=-{self.CACHE_KIB}")
        # Statement journals (and any other temporary data) in memory, never in files.
        conn.execute("PRAGMA temp_store=MEMORY")
        return conn

    @contextmanager
    def transaction(self, *, pipelined: bool = True) -> Iterator[Tx]:
        self._conn.execute("BEGIN IMMEDIATE")
        before = self._conn.total_changes
        try:
            tx = _SqliteTx(self._conn)
            yield tx
            tx.flush()
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        self._checkpointer.committed(self._conn.total_changes - before)

    def recover(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._checkpointer.close()
        self._conn.close()


@lru_cache(maxsize=512)
def to_psycopg(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (a literal ``%`` must be doubled there)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PostgresTx:
    """Writes are held back and sent in runs (:mod:`projections.held_writes`); multi-row
    inserts in PostgreSQL's own numbered parameters through a ``RawCursor``, which sends
    them as they are (psycopg parses and caches only short statements with few
    parameters, and these are neither)."""

    dialect = "postgres"

    def __init__(self, conn: Any) -> None:
        import psycopg

        self._conn = conn
        self._cur = conn.cursor()
        self._raw = psycopg.RawCursor(conn)
        self._held = HeldWrites()

    def execute(self, sql: str, params: Params = ()) -> None:
        if not self._held.hold_one(sql, params):
            self.flush()
            self._cur.execute(to_psycopg(sql), params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if not self._held.hold(sql, rows):
            self.flush()
            self._cur.executemany(to_psycopg(sql), rows)

    def flush(self) -> None:
        """Send every write held back."""
        self._held.flush(self._one, self._many, self._insert)

    def _one(self, sql: str, params: Params) -> None:
        self._cur.execute(to_psycopg(sql), params)

    def _many(self, sql: str, rows: Sequence[Params]) -> None:
        self._cur.executemany(to_psycopg(sql), rows)

    def _insert(self, insert: MultiRowInsert, rows: int, params: list[Any]) -> None:
        self._raw.execute(_numbered_statement(insert, rows), params)

    def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        self.flush()
        row: Row | None = self._cur.execute(to_psycopg(sql), params).fetchone()
        return row

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        self.flush()
        return list(self._cur.execute(to_psycopg(sql), params).fetchall())

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self.flush()
        with self._conn.transaction():
            try:
                yield
            except BaseException:
                self._held.discard()
                raise
            self.flush()


@lru_cache(maxsize=512)
def _numbered_statement(insert: MultiRowInsert, rows: int) -> str:
    return insert.statement(rows, numbered=True)


class PostgresReadStore:
    """A psycopg 3 connection to the event store's database (or another).

    Batches run in pipeline mode: a batch's statements go to the server without
    waiting for each reply, since one round trip per row would dominate. Commits
    do not wait for the server's WAL flush (``synchronous_commit=off``): a crash
    can lose the last ones, never consistency, and they are projected again.
    """

    dialect = "postgres"

    def __init__(self, dsn: str, schema: str = "") -> None:
        import psycopg

        self._psycopg = psycopg
        self.transient_errors: tuple[type[Exception], ...] = (psycopg.OperationalError,)
        self._dsn = dsn
        self._schema = schema
        self._conn = self._connect()

    def _connect(self) -> Any:
        conn = self._psycopg.connect(self._dsn, autocommit=True)
        # The tables and positions commit together, so a commit lost to a crash is simply
        # projected again: no need to wait for each commit to reach the disk.
        conn.execute("SET synchronous_commit = off")
        if self._schema:
            ident = self._psycopg.sql.Identifier(self._schema)
            conn.execute(self._psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
            conn.execute(self._psycopg.sql.SQL("SET search_path TO {}").format(ident))
        return conn

    @contextmanager
    def transaction(self, *, pipelined: bool = True) -> Iterator[Tx]:
        with contextlib.ExitStack() as stack:
            if pipelined:
                stack.enter_context(self._conn.pipeline())
            stack.enter_context(self._conn.transaction())
            tx = _PostgresTx(self._conn)
            yield tx
            tx.flush()

    def recover(self) -> None:
        if self._conn.closed or self._conn.broken:
            self._conn.close()
            self._conn = self._connect()

    def close(self) -> None:
        self._conn.close()
