"""The Podman API socket the agent talks to; started by the agent when nobody serves it.

``podman system service`` answers on a UNIX socket; the agent runs its own (with
the project's ``containers.conf`` through ``CONTAINERS_CONF``) unless one already
answers, and stops it again when it stops.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger("berth.agent")


class PodmanUnavailable(RuntimeError):
    """Podman is missing or its API does not come up."""


def _answers(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


class PodmanService:
    def __init__(self, socket_path: Path, log_path: Path) -> None:
        self.socket_path = socket_path
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def ensure(self, patience: float = 20.0) -> None:
        if _answers(self.socket_path):
            log.info("using the Podman API at %s", self.socket_path)
            return
        podman = shutil.which("podman")
        if podman is None:
            raise PodmanUnavailable("podman is not installed (the project's setup installs it)")
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()  # a stale socket nobody answers on
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self._proc = subprocess.Popen(
                [podman, "system", "service", "--time=0", self.url],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # conmon leaves an empty ``oom`` file in its working directory when a
                # container is OOM-killed: keep that out of wherever the agent started.
                cwd=self.log_path.parent,
            )
        deadline = time.monotonic() + patience
        while not _answers(self.socket_path):
            if self._proc.poll() is not None:
                raise PodmanUnavailable(
                    f"podman system service exited with {self._proc.returncode}; "
                    f"see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise PodmanUnavailable(f"the Podman API did not come up at {self.socket_path}")
            time.sleep(0.05)
        log.info("started the Podman API at %s", self.socket_path)

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._proc = None
