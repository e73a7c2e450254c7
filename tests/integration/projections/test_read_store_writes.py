"""A read-store transaction behaves as its statements say, whatever the store sends when.

On PostgreSQL writes are held back and sent table by table, each run of one
statement in one go; these tests pin down that reads, savepoints and commits
see exactly what was written before them, in order, on both backends.
"""

from __future__ import annotations

import pytest

from projections.held_writes import multirow_insert, written_table
from projections.read_store import ReadStore, Tx, open_read_store
from projections.settings import ReadStoreSettings


@pytest.fixture
def store(read_settings: ReadStoreSettings) -> ReadStore:
    store = open_read_store(read_settings)
    with store.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS a (id TEXT PRIMARY KEY, n INTEGER NOT NULL)")
        tx.execute("CREATE TABLE IF NOT EXISTS b (id TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    return store


def _rows(tx: Tx, table: str) -> list[tuple[str, int]]:
    return [(str(r[0]), int(r[1])) for r in tx.fetchall(f"SELECT id, n FROM {table} ORDER BY id")]


def test_writes_to_one_table_keep_their_order(store: ReadStore) -> None:
    try:
        with store.transaction() as tx:
            tx.execute("INSERT INTO a (id, n) VALUES (?, ?)", ("x", 1))
            tx.execute("INSERT INTO b (id, n) VALUES (?, ?)", ("y", 1))
            tx.execute("UPDATE a SET n = n + 10 WHERE id = ?", ("x",))
            tx.execute("INSERT INTO a (id, n) VALUES (?, ?)", ("z", 2))
            tx.execute("DELETE FROM a WHERE id = ?", ("z",))
            tx.executemany("INSERT INTO a (id, n) VALUES (?, ?)", [("p", 3), ("q", 4)])
            tx.execute("UPDATE a SET n = n * 2 WHERE id = ?", ("x",))
        with store.transaction() as tx:
            assert _rows(tx, "a") == [("p", 3), ("q", 4), ("x", 22)]
            assert _rows(tx, "b") == [("y", 1)]
    finally:
        store.close()


def test_a_long_run_of_inserts_arrives_whole_and_in_order(store: ReadStore) -> None:
    """On PostgreSQL, runs of inserts go as multi-row statements of a few sizes."""
    try:
        with store.transaction() as tx:
            for n in range(203):
                tx.execute("INSERT INTO a (id, n) VALUES (?, ?)", (f"{n:04}", n))
                tx.execute(
                    "INSERT INTO b (id, n) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                    (f"{n % 50:04}", n),  # every key four times: the first one stays
                )
        with store.transaction() as tx:
            assert _rows(tx, "a") == [(f"{n:04}", n) for n in range(203)]
            assert _rows(tx, "b") == [(f"{n:04}", n) for n in range(50)]
    finally:
        store.close()


def test_a_read_sees_every_write_before_it(store: ReadStore) -> None:
    try:
        with store.transaction() as tx:
            tx.execute("INSERT INTO a (id, n) VALUES (?, ?)", ("x", 1))
            tx.execute("INSERT INTO b (id, n) VALUES (?, ?)", ("y", 2))
            assert tx.fetchone("SELECT n FROM a WHERE id = ?", ("x",)) == (1,)
            assert _rows(tx, "b") == [("y", 2)]
    finally:
        store.close()


def test_a_failed_savepoint_undoes_its_own_writes_alone(store: ReadStore) -> None:
    try:
        with store.transaction(pipelined=False) as tx:
            tx.execute("INSERT INTO a (id, n) VALUES (?, ?)", ("kept", 1))
            with pytest.raises(ValueError), tx.savepoint():
                tx.execute("INSERT INTO a (id, n) VALUES (?, ?)", ("undone", 2))
                raise ValueError("the model failed")
            # A statement that fails fails inside its savepoint, where it can be told apart.
            with pytest.raises(Exception, match=r"(?i)unique|duplicate"), tx.savepoint():
                tx.execute("INSERT INTO b (id, n) VALUES (?, ?)", ("dup", 1))
                tx.execute("INSERT INTO b (id, n) VALUES (?, ?)", ("dup", 2))
            tx.execute("INSERT INTO b (id, n) VALUES (?, ?)", ("after", 3))
        with store.transaction() as tx:
            assert _rows(tx, "a") == [("kept", 1)]
            assert _rows(tx, "b") == [("after", 3)]
    finally:
        store.close()


def test_a_failed_transaction_writes_nothing(store: ReadStore) -> None:
    try:
        with pytest.raises(RuntimeError), store.transaction() as tx:
            tx.execute("INSERT INTO a (id, n) VALUES (?, ?)", ("x", 1))
            raise RuntimeError("the batch failed")
        with store.transaction() as tx:
            assert _rows(tx, "a") == []
    finally:
        store.close()


@pytest.mark.parametrize(
    ("sql", "rows"),
    [
        ("INSERT INTO a (id, n) VALUES (?, ?)", "($1, $2), ($3, $4), ($5, $6)"),
        (
            "INSERT INTO t (a, b) VALUES (?, 1, '', ?) ON CONFLICT (a) DO NOTHING",
            "($1, 1, '', $2), ($3, 1, '', $4), ($5, 1, '', $6) ON CONFLICT (a) DO NOTHING",
        ),
        ("INSERT INTO t (a) VALUES (?) ON CONFLICT (a) DO UPDATE SET a = excluded.a", None),
        ("INSERT INTO t (a) VALUES (lower(?))", None),
        ("UPDATE t SET a = ?", None),
    ],
)
def test_which_inserts_take_many_rows_in_one_statement(sql: str, rows: str | None) -> None:
    insert = multirow_insert(sql)
    if rows is None:
        assert insert is None
    else:
        assert insert is not None and rows in insert.statement(3, numbered=True)
        assert insert.statement(2) == insert.statement(2, numbered=True).replace("$1", "?").replace(
            "$2", "?"
        ).replace("$3", "?").replace("$4", "?")


def test_a_run_is_cut_into_statements_of_a_few_sizes_in_order() -> None:
    insert = multirow_insert("INSERT INTO a (id, n) VALUES (?, ?)")
    assert insert is not None
    rows = [(str(n), n) for n in range(100)]
    chunks = list(insert.chunks(rows))
    assert [size for size, _ in chunks] == [64, 32, 4]
    assert [value for _, params in chunks for value in params] == [v for r in rows for v in r]


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ("INSERT INTO session_view (id) VALUES (?)", "session_view"),
        ("  insert into Usage_Total (a) VALUES (?) ON CONFLICT (a) DO NOTHING", "usage_total"),
        ("UPDATE agent_view SET n = 1 WHERE id = ?", "agent_view"),
        ("DELETE FROM session_kernel WHERE session_id = ?", "session_kernel"),
        ("SELECT 1 FROM a", None),
        ("CREATE TABLE IF NOT EXISTS a (id TEXT)", None),
        ("DROP TABLE IF EXISTS a", None),
    ],
)
def test_the_table_a_statement_writes(sql: str, table: str | None) -> None:
    assert written_table(sql) == table
