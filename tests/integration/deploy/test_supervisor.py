"""The stack's supervisor with real child processes: restarts are bounded, stops always end."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
from pathlib import Path

from deploy.logs import StackLog
from deploy.supervisor import ChildSpec, RestartPolicy, Supervisor

QUICK = RestartPolicy(max_restarts=2, first_delay=0.05, max_delay=0.1)


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_a_child_that_keeps_dying_is_given_up_on(tmp_path: Path) -> None:
    out = io.StringIO()
    supervisor = Supervisor(StackLog(tmp_path, out), QUICK)
    await supervisor.start(
        ChildSpec("flaky", _python("print('about to fail'); raise SystemExit(3)"))
    )

    async with asyncio.timeout(60):
        await supervisor.failed.wait()
    assert supervisor.failure is not None and "flaky keeps dying (2 restarts)" in supervisor.failure
    shown = out.getvalue()
    assert shown.count("flaky died unexpectedly (exit code 3)") == 3
    assert shown.count("flaky   | about to fail") == 3
    assert await supervisor.stop()
    # Its output is kept in its own log file too.
    assert (tmp_path / "flaky.log").read_text().count("about to fail") == 3


async def test_a_child_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    out = io.StringIO()
    supervisor = Supervisor(StackLog(tmp_path, out), QUICK, stop_timeout=0.5)
    mule = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    await supervisor.start(ChildSpec("mule", _python(mule)))
    pid = supervisor.pids()["mule"]
    try:
        async with asyncio.timeout(60):
            while "mule    | ready" not in out.getvalue():
                await asyncio.sleep(0.05)

        assert not await supervisor.stop()
        assert "mule did not stop in 0.5s; killing it" in out.getvalue()
        assert "mule stopped (killed by SIGKILL)" in out.getvalue()
        assert not Path(f"/proc/{pid}").exists()
    finally:
        # It ignores SIGTERM, so nothing else would end it if an assertion failed.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
