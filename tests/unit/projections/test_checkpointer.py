"""The read store's WAL is copied into the database file by a thread beside the writer."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from projections.checkpointer import Checkpointer
from projections.read_store import SqliteReadStore
from projections.settings import ReadStoreSettings


def _eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def _wal_frames(path: Path) -> int:
    """Frames in the WAL that are not yet in the database file (a PASSIVE checkpoint's view)."""
    with sqlite3.connect(path) as conn:
        _busy, log, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(log) - int(copied)


@contextmanager
def _writer_and_checkpointer(
    path: Path, *, rows: int, commits: int, idle: float, sync_every: float = 0.1
) -> Iterator[tuple[sqlite3.Connection, Checkpointer]]:
    """A WAL writer that never checkpoints itself, and a checkpointer for its file."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer copies
    conn.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    checkpointer = Checkpointer(path, rows=rows, commits=commits, idle=idle, sync_every=sync_every)
    try:
        yield conn, checkpointer
    finally:
        checkpointer.close()
        conn.close()


def test_enough_changed_rows_bring_a_checkpoint(tmp_path: Path) -> None:
    with _writer_and_checkpointer(tmp_path / "rm.sqlite3", rows=100, commits=1_000, idle=60) as (
        conn,
        checkpointer,
    ):
        conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(99)])
        checkpointer.committed(99)
        time.sleep(0.1)
        assert checkpointer.runs == 0  # synced, never copied
        conn.execute("INSERT INTO t VALUES (100)")
        checkpointer.committed(1)
        assert _eventually(lambda: checkpointer.runs == 1)


def test_many_small_commits_bring_a_checkpoint(tmp_path: Path) -> None:
    with _writer_and_checkpointer(tmp_path / "rm.sqlite3", rows=1_000_000, commits=5, idle=60) as (
        conn,
        checkpointer,
    ):
        for n in range(5):
            conn.execute("INSERT INTO t VALUES (?)", (n,))
            checkpointer.committed(1)
        assert _eventually(lambda: checkpointer.runs == 1)


def test_what_is_left_is_copied_a_moment_after_the_last_commit(tmp_path: Path) -> None:
    path = tmp_path / "rm.sqlite3"
    with _writer_and_checkpointer(path, rows=1_000_000, commits=1_000, idle=0.05) as (
        conn,
        checkpointer,
    ):
        conn.execute("INSERT INTO t VALUES (1)")
        checkpointer.committed(1)
        assert _eventually(lambda: checkpointer.runs == 1)
        assert _wal_frames(path) == 0
        time.sleep(0.2)
        assert checkpointer.runs == 1  # nothing new: no more checkpoints


def test_between_checkpoints_the_wal_is_synced_while_commits_come_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_sync = os.fdatasync

    def fdatasync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_sync(fd)

    monkeypatch.setattr("projections.checkpointer.os.fdatasync", fdatasync)
    path = tmp_path / "rm.sqlite3"
    with _writer_and_checkpointer(
        path, rows=1_000_000, commits=1_000, idle=60, sync_every=0.02
    ) as (conn, checkpointer):
        conn.execute("INSERT INTO t VALUES (1)")
        checkpointer.committed(1)
        assert _eventually(lambda: len(synced) == 1)
        time.sleep(0.1)
        assert len(synced) == 1  # no commit since: nothing to sync
        conn.execute("INSERT INTO t VALUES (2)")
        checkpointer.committed(1)
        # The count moves once the sync has returned, a moment after the call was seen.
        assert _eventually(lambda: len(synced) == 2 and checkpointer.syncs == 2)
        assert synced == [f"{path}-wal"] * 2
        assert checkpointer.runs == 0  # synced, never copied


def test_the_read_store_commits_feed_its_checkpointer(tmp_path: Path) -> None:
    store = SqliteReadStore(ReadStoreSettings(sqlite_path=tmp_path / "rm.sqlite3"))
    try:
        with store.transaction() as tx:
            tx.execute("CREATE TABLE t (n INTEGER)")
        for n in range(SqliteReadStore.CHECKPOINT_COMMITS):
            with store.transaction() as tx:
                tx.execute("INSERT INTO t VALUES (?)", (n,))
        assert _eventually(lambda: store.checkpoints >= 1)
    finally:
        store.close()
