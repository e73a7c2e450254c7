"""One stack per data directory, enforced with an advisory lock on ``<data dir>/stack.lock``.

Two stacks on one data directory would run two nats-servers on one JetStream
store and two managers on one SQLite file. ``flock`` is released by the kernel
when the holder exits, however it exits, so a crashed stack never leaves a stale
lock behind; the file only carries the holder's pid for the error message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Any


class DataDirBusy(Exception):
    """Another stack holds the data directory."""


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "stack.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "unknown"
            file.close()
            raise DataDirBusy(
                f"another berth stack (pid {holder}) is already running on {self.path.parent}; "
                "stop it first, or use another --data-dir"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
