"""Copying the read store's WAL into the database file beside the runner, not inside its commits.

SQLite in WAL mode appends each commit's pages to the write-ahead log and, by
default, copies them back into the database file (a *checkpoint*) inside the
commit that takes the log past a size, syncing both files to disk on the way:
the runner's next batch waits for that copy and those syncs. Here a thread of
its own, on a connection of its own, runs a ``PASSIVE`` checkpoint (which never
blocks readers or the writer) once the runner has changed enough rows, or
committed enough times, since the last one (a small commit still writes whole
pages, several of them per row), or a moment after the last one when there is
something left to copy. The connection's own automatic checkpoint stays as a backstop, at a much
larger size, for a checkpointer that falls behind.

Between checkpoints the thread also syncs the WAL to disk every ``sync_every`` seconds while
commits come in. A commit never syncs by itself (``synchronous=NORMAL``), except the first one
after the log has started over from its beginning, which must sync the log's new header, and
with it everything written to the log since the last sync: measured on a two-core machine,
40 to 70 ms every few seconds at 1,000 events per second, the largest delays of the
projection. Synced often, the log holds little unwritten data, and that sync is short. It writes
nothing more: every frame is synced once before the checkpoint that copies it anyway.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger("berth.projections")


class Checkpointer:
    """Checkpoints ``path`` every ``rows`` changed rows or ``commits`` commits, whichever
    comes first, or ``idle`` seconds after the last checkpoint; syncs its WAL every
    ``sync_every`` seconds in between while commits come in."""

    def __init__(
        self,
        path: Path,
        *,
        rows: int = 16_000,
        commits: int = 250,
        idle: float = 1.0,
        sync_every: float = 0.1,
    ) -> None:
        self._path = path
        self._rows = rows
        self._commits = commits
        self._idle = idle
        self._sync_every = sync_every
        self._pending = 0
        self._pending_commits = 0
        #: commits since the WAL was last synced
        self._unsynced = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: checkpoints run so far, and syncs of the WAL between them (for tests and logs)
        self.runs = 0
        self.syncs = 0

    def committed(self, rows: int) -> None:
        """The writer committed a transaction that changed ``rows`` rows."""
        if rows <= 0:
            return
        with self._lock:
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(
                    target=self._run, name="read-store-checkpoint", daemon=True
                )
                self._thread.start()
            self._pending += rows
            self._pending_commits += 1
            self._unsynced += 1
            due = self._pending >= self._rows or self._pending_commits >= self._commits
        if due:
            self._wake.set()

    def close(self) -> None:
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        wal: int | None = None
        last = time.monotonic()
        try:
            while True:
                woken = self._wake.wait(min(self._idle, self._sync_every))
                self._wake.clear()
                now = time.monotonic()
                with self._lock:
                    if self._stopping:
                        return
                    pending, unsynced = self._pending, self._unsynced
                    # Woken: enough rows changed. Otherwise: a moment since the last checkpoint.
                    due = bool(pending) and (woken or now - last >= self._idle)
                    if due:
                        self._pending = self._pending_commits = 0
                    if due or unsynced:
                        self._unsynced = 0
                if due:
                    self._checkpoint(conn, pending, woken)  # syncs the WAL first
                    last = now
                elif unsynced:
                    wal = self._sync_wal(wal)
        finally:
            conn.close()
            if wal is not None:
                os.close(wal)

    def _sync_wal(self, wal: int | None) -> int | None:
        """Sync the WAL file (opened on first use); returns its descriptor."""
        try:
            if wal is None:
                wal = os.open(f"{self._path}-wal", os.O_RDONLY)
            os.fdatasync(wal)
        except OSError as exc:
            log.debug("read store WAL not synced: %s", exc)
            return wal
        self.syncs += 1
        return wal

    def _checkpoint(self, conn: sqlite3.Connection, pending: int, woken: bool) -> None:
        try:
            busy, wal_pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            # The backstop still bounds the log; try again after the next commits.
            log.warning("read store checkpoint failed: %s", exc)
            return
        self.runs += 1
        log.debug(
            "read store checkpoint (%s, %d rows changed): %d of %d WAL pages copied%s",
            "due" if woken else "idle",
            pending,
            copied,
            wal_pages,
            ", readers held the rest" if busy else "",
        )
