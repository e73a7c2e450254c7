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
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from projections.checkpointer import Checkpointer
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
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> None:
        self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._conn.executemany(sql, rows)

    def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(self._conn.execute(sql, params).fetchall())

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self._conn.execute("SAVEPOINT one_event")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK TO SAVEPOINT one_event")
            self._conn.execute("RELEASE SAVEPOINT one_event")
            raise
        self._conn.execute("RELEASE SAVEPOINT one_event")


class SqliteReadStore:
    """One SQLite file in WAL mode: readers (the API, tests) never block the runner.

    ``synchronous=NORMAL`` may lose the last commits on a power failure, never
    consistency; since rows and position commit together, the runner then simply
    re-projects those events.

    Read models are keyed by random ids, so each event dirties pages all over the
    file. A page cache of 64 MiB keeps the indexes' inner pages in memory.
    Checkpoints (copying the WAL back into the file, and syncing both) run in a
    thread of their own (:mod:`projections.checkpointer`) after every 16,000
    changed rows or 250 commits, so a commit never waits for one; the connection's own
    automatic checkpoint stays as a backstop at 16,000 WAL pages (64 MiB).
    """

    #: pages of 4 KiB in the WAL before a commit itself copies them into the database
    BACKSTOP_CHECKPOINT_PAGES = 16_000
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
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA wal_autocheckpoint={self.BACKSTOP_CHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA cache_size=-{self.CACHE_KIB}")
        return conn

    @contextmanager
    def transaction(self, *, pipelined: bool = True) -> Iterator[Tx]:
        self._conn.execute("BEGIN IMMEDIATE")
        before = self._conn.total_changes
        try:
            yield _SqliteTx(self._conn)
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


@lru_cache(maxsize=512)
def written_table(sql: str) -> str | None:
    """The one table an ``INSERT``, ``UPDATE`` or ``DELETE`` writes; None for anything else."""
    match = _WRITE.match(sql)
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class MultiRowInsert:
    """An ``INSERT ... VALUES (...)`` (at most ``ON CONFLICT ... DO NOTHING``) that can take
    many rows in one statement: ``INSERT ... VALUES (...), (...), ...``, with PostgreSQL's own
    numbered parameters (``$1``…), sent as they are (psycopg parses and caches only short
    statements with few parameters; these are neither)."""

    head: str
    row: str
    tail: str

    #: rows per statement: powers of two, so a run of any length needs few distinct statements
    SIZES = (64, 32, 16, 8, 4, 2, 1)

    def statement(self, rows: int) -> str:
        numbers = iter(range(1, rows * self.row.count("?") + 1))
        values = ", ".join([self.row] * rows)
        return self.head + re.sub(r"\?", lambda _: f"${next(numbers)}", values) + self.tail

    def chunks(self, rows: Sequence[Params]) -> Iterator[tuple[str, list[Any]]]:
        """Each multi-row statement for ``rows``, in order, with its parameters."""
        start = 0
        for size in self.SIZES:
            while len(rows) - start >= size:
                params = [value for row in rows[start : start + size] for value in row]
                yield multirow_statement(self, size), params
                start += size


@lru_cache(maxsize=512)
def multirow_insert(sql: str) -> MultiRowInsert | None:
    """``sql`` as a :class:`MultiRowInsert`, or None when it is not one."""
    match = _INSERT_VALUES.fullmatch(sql)
    if match is None:
        return None
    head, row, tail = match.groups()
    return MultiRowInsert(head, row, tail)


@lru_cache(maxsize=512)
def multirow_statement(insert: MultiRowInsert, rows: int) -> str:
    return insert.statement(rows)


_INSERT_VALUES = re.compile(
    r"(\s*INSERT\s+INTO\s+\w+\s*\([^()]*\)\s*VALUES\s*)(\([^()]*\))"
    r"(\s*(?:ON\s+CONFLICT\s*\([^()]*\)\s*DO\s+NOTHING)?\s*)",
    re.I,
)

_WRITE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([A-Za-z_][A-Za-z0-9_]*)\b", re.I)


class _PostgresTx:
    """Writes are held back and sent table by table, a run of one statement as one
    ``executemany``: psycopg then adapts and sends the rows in one go instead of one
    call per row.

    Read models write no statement that reads another table, so writes to
    different tables can be sent in any order; each table's writes keep theirs.
    Everything held back is sent before any read, savepoint or other statement,
    and before the commit.
    """

    dialect = "postgres"

    def __init__(self, conn: Any) -> None:
        import psycopg

        self._conn = conn
        self._cur = conn.cursor()
        #: for statements in PostgreSQL's own parameter style, sent without parsing
        self._raw = psycopg.RawCursor(conn)
        #: the writes held back, by table, in order: each a statement with its rows
        self._held: dict[str, list[tuple[str, list[Params]]]] = {}

    def execute(self, sql: str, params: Params = ()) -> None:
        if written_table(sql) is None:
            self.flush()
            self._cur.execute(to_psycopg(sql), params)
        else:
            self._hold(sql, [params])

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if written_table(sql) is None:
            self.flush()
            self._cur.executemany(to_psycopg(sql), rows)
        else:
            self._hold(sql, rows)

    def _hold(self, sql: str, rows: Sequence[Params]) -> None:
        table = written_table(sql)
        assert table is not None
        runs = self._held.setdefault(table, [])
        if runs and runs[-1][0] == sql:
            runs[-1][1].extend(rows)
        else:
            runs.append((sql, list(rows)))

    def flush(self) -> None:
        """Send every write held back."""
        held, self._held = self._held, {}
        for runs in held.values():
            for sql, rows in runs:
                insert = multirow_insert(sql) if len(rows) > 1 else None
                if insert is not None:
                    for statement, params in insert.chunks(rows):
                        self._raw.execute(statement, params)
                elif len(rows) == 1:
                    self._cur.execute(to_psycopg(sql), rows[0])
                else:
                    self._cur.executemany(to_psycopg(sql), rows)

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
                self._held = {}
                raise
            self.flush()


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
