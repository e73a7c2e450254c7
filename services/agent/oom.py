"""Knowing that a container was killed for memory, on hosts where Podman cannot tell.

With cgroup v1 and the cgroupfs manager, Podman 4 reports ``OOMKilled: false``
even when the kernel's OOM killer ended the container. The memory controller can
say so itself: an eventfd registered on ``memory.oom_control`` fires when an OOM
kill happens (and when the cgroup goes away), and ``oom_kill`` then counts the
kills. One watcher per running container, reading one eventfd on a thread; it is set up
between ``podman init`` and ``start``, before the command can use any memory.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

MEMORY_V1 = Path("/sys/fs/cgroup/memory")


class OomWatcher:
    def __init__(self, cgroup_path: str) -> None:
        self.killed = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._dir = MEMORY_V1 / cgroup_path.lstrip("/")

    def start(self) -> bool:
        """Begin watching; False when this host offers no such notification."""
        if self._dir == MEMORY_V1 or not cgroup_path_usable(self._dir):
            self._done.set()
            return False
        try:
            efd = os.eventfd(0)
            ofd = os.open(self._dir / "memory.oom_control", os.O_RDONLY)
            (self._dir / "cgroup.event_control").write_text(f"{efd} {ofd}")
        except OSError:
            self._done.set()
            return False
        self._thread = threading.Thread(target=self._watch, args=(efd, ofd), daemon=True)
        self._thread.start()
        return True

    def _watch(self, efd: int, ofd: int) -> None:
        try:
            os.read(efd, 8)
            # The eventfd fires when the OOM killer is invoked (before it counts the
            # kill in ``oom_kill``) or when the cgroup is removed; only in the first
            # case can the control file still be read.
            with contextlib.suppress(OSError):
                os.pread(ofd, 256, 0)
                self.killed = True
        finally:
            os.close(efd)
            os.close(ofd)
            self._done.set()

    def result(self, patience: float = 1.0) -> bool:
        """After the container exited: was it killed for memory?"""
        self._done.wait(patience)
        return self.killed


def cgroup_path_usable(path: Path) -> bool:
    return (path / "memory.oom_control").exists() and (path / "cgroup.event_control").exists()
