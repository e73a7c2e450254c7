"""Each read store waits for the disk only as much as derived, re-projectable data needs.

Rows and positions commit together, so a commit lost in a crash is projected again:
neither backend waits for each commit to reach the disk, and neither can be left
inconsistent by a crash.
"""

from __future__ import annotations

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
