"""``berth up`` as a real process, the way a user runs it, with its output read as it comes."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from deploy.natsd import free_port

#: generous: other test runs share the machine's two cores
PATIENCE = 120.0

STARTED_RE = re.compile(r"started (\w+) \(pid (\d+)\)")
TOTALS_RE = re.compile(
    r"totals: store (\d+) events, stream (\d+) events, read model (\d+) sessions"
)


def berth_executable() -> str:
    return str(Path(sys.executable).with_name("berth"))


class BerthUp:
    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.gateway_port = free_port()
        self.lines: list[str] = []
        self._arrived = threading.Condition()
        self.proc = subprocess.Popen(
            [berth_executable(), "up", "--data-dir", str(data_dir), *args],
            env={
                **os.environ,
                "BERTH_NATS_PORT": str(self.port),
                "BERTH_GATEWAY_PORT": str(self.gateway_port),
                # An agent of its own: another stack's agent would take this one's
                # containers for orphans.
                "BERTH_AGENT_NAME": "e2e-" + hashlib.sha1(str(data_dir).encode()).hexdigest()[:10],
                "BERTH_STORE": "sqlite",
                "NO_COLOR": "1",
                **(env or {}),
            },
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._arrived:
                self.lines.append(line.rstrip("\n"))
                self._arrived.notify_all()

    @property
    def output(self) -> str:
        with self._arrived:
            return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = PATIENCE) -> str:
        """The first line that contains ``text``; fails with the output so far if none comes."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"no line with {text!r}; output:\n" + "\n".join(self.lines)
                    )
                self._arrived.wait(min(left, 0.5))

    def wait(self, timeout: float = PATIENCE) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    def child_pids(self) -> dict[str, int]:
        """The latest pid of each child, as the supervisor announced it."""
        with self._arrived:
            return {m[1]: int(m[2]) for line in self.lines if (m := STARTED_RE.search(line))}

    def totals(self) -> tuple[int, int, int]:
        match = TOTALS_RE.search(self.output)
        assert match, "no totals line in the output:\n" + self.output
        return int(match[1]), int(match[2]), int(match[3])

    def close(self) -> None:
        """Make sure nothing is left running, whatever the test did."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def processes_using(data_dir: Path) -> list[tuple[int, str]]:
    """Processes whose command line or environment names this data directory."""
    needle = str(data_dir).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in cmdline or needle in environ:
            found.append((int(entry.name), cmdline.replace(b"\0", b" ").decode(errors="replace")))
    return found


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still has a pid; it counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
