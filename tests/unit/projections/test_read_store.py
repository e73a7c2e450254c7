"""The read store commits a batch whole or not at all, in one SQL dialect for both databases."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.read_store import ReadStore, SqliteReadStore, to_psycopg
from projections.settings import ReadStoreSettings


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ReadStore]:
    read_store = SqliteReadStore(ReadStoreSettings(sqlite_path=tmp_path / "nested" / "rm.sqlite3"))
    with read_store.transaction() as tx:
        tx.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BIGINT)")
    yield read_store
    read_store.close()


def test_placeholders_are_translated_for_psycopg() -> None:
    assert to_psycopg("SELECT * FROM t WHERE k = ? AND v LIKE '5%'") == (
        "SELECT * FROM t WHERE k = %s AND v LIKE '5%%'"
    )


def test_a_failed_transaction_leaves_nothing_behind(store: ReadStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.execute("INSERT INTO t VALUES (?, ?)", ("a", 1))
        raise RuntimeError("crash in the middle of a batch")
    with store.transaction() as tx:
        assert tx.fetchall("SELECT * FROM t") == []


def test_a_savepoint_undoes_only_its_own_writes(store: ReadStore) -> None:
    with store.transaction() as tx:
        tx.executemany("INSERT INTO t VALUES (?, ?)", [("a", 1), ("b", 2)])
        with pytest.raises(RuntimeError), tx.savepoint():
            tx.execute("INSERT INTO t VALUES (?, ?)", ("c", 3))
            raise RuntimeError("one bad event")
        tx.execute("INSERT INTO t VALUES (?, ?)", ("d", 4))
    with store.transaction() as tx:
        assert tx.fetchall("SELECT k FROM t ORDER BY k") == [("a",), ("b",), ("d",)]
        assert tx.fetchone("SELECT v FROM t WHERE k = ?", ("b",)) == (2,)


def test_a_multi_row_insert_that_fails_part_way_commits_none_of_its_rows(store: ReadStore) -> None:
    with store.transaction() as tx:
        tx.execute("INSERT INTO t VALUES (?, ?)", ("taken", 0))
    rows = [("a", 1), ("b", 2), ("taken", 3), ("c", 4)]
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as tx:
        tx.executemany("INSERT INTO t VALUES (?, ?)", rows)
    with store.transaction() as tx:
        assert tx.fetchall("SELECT k FROM t") == [("taken",)]


def test_a_multi_row_insert_that_fails_in_a_savepoint_leaves_the_rest_of_the_batch(
    store: ReadStore,
) -> None:
    with store.transaction() as tx:
        tx.executemany("INSERT INTO t VALUES (?, ?)", [("a", 1), ("b", 2)])
        with pytest.raises(sqlite3.IntegrityError), tx.savepoint():
            tx.executemany("INSERT INTO t VALUES (?, ?)", [("c", 3), ("a", 4), ("d", 5)])
        tx.executemany("INSERT INTO t VALUES (?, ?)", [("e", 6), ("f", 7)])
    with store.transaction() as tx:
        assert tx.fetchall("SELECT k, v FROM t ORDER BY k") == [
            ("a", 1),
            ("b", 2),
            ("e", 6),
            ("f", 7),
        ]
