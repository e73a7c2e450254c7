"""The benchmark's side of the projection process: start it, read its commit clock, stop it.

The process (:mod:`tests.bench.projector`) runs as the embedded stack runs
``python -m projections``: a process of its own, on the other core. Its commit
lines are read in a thread as they come; :meth:`ProjectionProcess.committed_at`
then answers when a notification became visible in every read model.
"""

from __future__ import annotations

import asyncio
import bisect
import subprocess
import sys
import threading
import time
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from events.streams import EVENTS_STREAM
from projections.consumer import consumer_name
from projections.registry import GROUP, projection_names
from tests.bench.projector import COMMITTED
from tests.bench.scratch import stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]


class ProjectionProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.names = projection_names()
        self.log_path = log_path
        # per read model: the positions it committed, ascending, and when
        self._ids: dict[str, list[int]] = {name: [] for name in self.names}
        self._times: dict[str, list[float]] = {name: [] for name in self.names}
        self._changed = threading.Condition()
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.bench.projector"],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            parts = raw.decode().split()
            if len(parts) != 4 or parts[0] != COMMITTED or parts[1] not in self._ids:
                continue
            with self._changed:
                self._ids[parts[1]].append(int(parts[2]))
                self._times[parts[1]].append(float(parts[3]))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    async def ready(self, js: JetStreamContext, timeout: float = 60.0) -> None:
        """Wait until the read models' consumer exists: the runner is reading the stream."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                await js.consumer_info(EVENTS_STREAM, consumer_name(GROUP))
                break
            except NotFoundError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"the projection process exited:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the read models did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.05)

    def wait_for(self, notification_id: int, timeout: float) -> float:
        """Block until every read model holds ``notification_id``; returns when the last did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._position_locked() < notification_id:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise TimeoutError(
                        f"read models at notification {self._position_locked()}, not"
                        f" {notification_id}, after {timeout:.0f}s:\n{self.log_tail()}"
                    )
                self._changed.wait(min(left, 0.5))
        at = self.committed_at([notification_id])[0]
        assert at is not None
        return at

    def _position_locked(self) -> int:
        """The notification every read model has committed (hold ``_changed``)."""
        return min((ids[-1] if ids else 0) for ids in self._ids.values())

    def committed_at(self, notification_ids: list[int]) -> list[float | None]:
        """For each id, when the last read model committed a position that includes it."""
        with self._changed:
            ids = {name: list(v) for name, v in self._ids.items()}
            times = {name: list(v) for name, v in self._times.items()}
        result: list[float | None] = []
        for nid in notification_ids:
            latest: float | None = 0.0
            for name in self.names:
                i = bisect.bisect_left(ids[name], nid)
                if i == len(ids[name]):
                    latest = None
                    break
                assert latest is not None
                latest = max(latest, times[name][i])
            result.append(latest)
        return result

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        stop_process(self.proc)
        self._reader.join(5)
