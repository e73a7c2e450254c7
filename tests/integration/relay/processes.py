"""The real processes of the relay fault tests: relays and a writer, killed at will.

Every child runs from the repository root with the test's own ``BERTH_*``
environment and logs to a file of its own, so a failing test can show what each
process said. :meth:`Processes.close` kills whatever is still running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from services.manager.settings import StoreSettings

REPO_ROOT = Path(__file__).resolve().parents[3]


def berth_env(settings: StoreSettings, nats_url: str, data_dir: Path) -> dict[str, str]:
    """The environment a Berth process reads, and nothing inherited that could redirect it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
    env.update(
        BERTH_DATA_DIR=str(data_dir),
        BERTH_NATS_URL=nats_url,
        BERTH_STORE=settings.backend,
        BERTH_SQLITE_PATH=str(settings.sqlite_path),
        BERTH_PG_DSN=settings.pg_dsn,
        BERTH_PG_SCHEMA=settings.pg_schema,
        PYTHONUNBUFFERED="1",
    )
    return env


class Processes:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self._children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start ``python ARGS``; its output goes to ``<log_dir>/<name>.log`` (appended)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, *args],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._children.append((name, proc))
        return proc

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def said(self, name: str, text: str) -> bool:
        """Whether the process started as ``name`` has logged ``text``."""
        path = self.log_path(name)
        return path.exists() and text in path.read_text(errors="replace")

    def relay(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(name, "-m", "services.manager", "relay")

    def writer(
        self, count: int, seed: int, *, max_pause: float = 0.015, name: str = "writer"
    ) -> subprocess.Popen[bytes]:
        """Store ``count`` events in random batches, pausing up to ``max_pause`` s after each."""
        args = [str(count), "--seed", str(seed), "--max-pause", str(max_pause)]
        return self.start(name, "-m", "tests.integration.relay.writer", *args)

    def running(self, names: list[str]) -> dict[str, subprocess.Popen[bytes]]:
        """The latest process started under each of ``names``."""
        latest = dict(self._children)
        return {name: latest[name] for name in names}

    @staticmethod
    def kill(proc: subprocess.Popen[bytes]) -> None:
        """kill -9: no chance to finish a batch, flush or say goodbye."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self, timeout: float = 10.0) -> None:
        """SIGTERM everything still running and wait; kill what does not stop."""
        running = [proc for _, proc in self._children if proc.poll() is None]
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(proc)

    def close(self) -> None:
        for _, proc in self._children:
            self.kill(proc)

    def logs(self, tail: int = 8) -> str:
        """The last lines of every child's log, for a failure message."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)
