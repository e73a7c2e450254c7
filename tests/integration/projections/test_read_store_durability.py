"""Each read store waits for the disk only as much as derived, re-projectable data needs.

Rows and positions commit together, so a commit lost in a crash is projected again:
neither backend waits for each commit to reach the disk, and neither can be left
inconsistent by a crash.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from projections.read_store import open_read_store
from projections.settings import ReadStoreSettings


def test_commits_do_not_wait_for_the_disk(read_settings: ReadStoreSettings) -> None:
    store = open_read_store(read_settings)
    try:
        with store.transaction(pipelined=False) as tx:
            if tx.dialect == "postgres":
                assert tx.fetchone("SHOW synchronous_commit") == ("off",)
            else:
                assert tx.fetchone("PRAGMA journal_mode") == ("wal",)
                assert tx.fetchone("PRAGMA synchronous") == (1,)  # NORMAL: synced at checkpoints
    finally:
        store.close()


def test_a_new_sqlite_store_has_large_pages_and_an_existing_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    new = ReadStoreSettings(sqlite_path=tmp_path / "new.sqlite3")
    older = ReadStoreSettings(sqlite_path=tmp_path / "older.sqlite3")
    with sqlite3.connect(older.sqlite_path) as conn:  # as an earlier version made it
        conn.execute("PRAGMA page_size=4096")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY)")
    conn.close()
    for settings, page_bytes in ((new, 16 * 1024), (older, 4096)):
        store = open_read_store(settings)
        try:
            with store.transaction(pipelined=False) as tx:
                tx.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY)")
                tx.execute("INSERT INTO rows (id) VALUES (1)")
                assert tx.fetchone("PRAGMA page_size") == (page_bytes,)
        finally:
            store.close()
