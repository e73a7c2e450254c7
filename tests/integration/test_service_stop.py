"""Every service process ends after SIGTERM, even while it waits for a nats-server that is gone.

That is how a killed ``berth up`` leaves them: each child gets SIGTERM from the kernel, and
nats-server is one of them. A service still connecting then waits in ``nats.connect``, which
with ``max_reconnect_attempts=-1`` tries again for ever (``services/service_loop.py``).
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from deploy.natsd import free_port
from services.manager.settings import StoreSettings
from tests.integration.relay.processes import Processes, berth_env

SERVICES = {
    "gateway": ("-m", "services.gateway"),
    "manager": ("-m", "services.manager", "serve"),
    "projections": ("-m", "projections"),
    "simulated-agents": ("-m", "services.agent.simulated", "--prefix", "stop", "--agents", "1"),
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_still_connecting_ends_after_sigterm(service: str, tmp_path: Path) -> None:
    nobody = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    settings = StoreSettings(backend="sqlite", sqlite_path=tmp_path / "events.sqlite3")
    env = berth_env(settings, nobody, tmp_path / "data")
    env["BERTH_READMODELS_PATH"] = str(tmp_path / "readmodels.sqlite3")
    env["BERTH_GATEWAY_PORT"] = str(free_port())
    procs = Processes(env, tmp_path / "logs")
    proc = procs.start(service, *SERVICES[service])
    try:
        deadline = time.monotonic() + 60
        while not procs.said(service, "ConnectionRefusedError"):  # in nats.connect's loop
            assert proc.poll() is None, procs.log_path(service).read_text()
            assert time.monotonic() < deadline, procs.log_path(service).read_text()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{service} still running 30 s after SIGTERM")
        assert procs.said(service, "still running 5.0 s after it was asked to stop; cancelling it")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
