"""A finished kernel's output, kept after its container is removed.

The agent removes a container once its exit is reported; its log is copied here
first, so ``berth session logs`` still works for sessions that ended.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from uuid import UUID


class LogArchive:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, kernel_id: UUID) -> Path:
        return self.directory / f"{kernel_id}.log"

    def save(self, kernel_id: UUID, data: bytes) -> None:
        path = self._path(kernel_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def read(self, kernel_id: UUID) -> bytes | None:
        with contextlib.suppress(FileNotFoundError):
            return self._path(kernel_id).read_bytes()
        return None

    def has(self, kernel_id: UUID) -> bool:
        return self._path(kernel_id).exists()
