"""The stack's supervisor with real child processes: restarts are bounded, stops always end."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from deploy.affinity import usable_cores
from deploy.logs import StackLog
from deploy.supervisor import ChildSpec, RestartPolicy, Supervisor

QUICK = RestartPolicy(max_restarts=2, first_delay=0.05, max_delay=0.1)
REPO_ROOT = Path(__file__).resolve().parents[3]


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


async def test_a_child_with_a_core_runs_every_thread_there(tmp_path: Path) -> None:
    core = usable_cores()[-1]
    report = (
        "import os, threading\n"
        "seen = []\n"
        "t = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0)))\n"
        "t.start(); t.join()\n"
        "print('cores', sorted(os.sched_getaffinity(0)), sorted(seen[0]), flush=True)\n"
        "threading.Event().wait(600)\n"
    )
    out = io.StringIO()
    supervisor = Supervisor(StackLog(tmp_path, out), QUICK)
    await supervisor.start(ChildSpec("pinned", _python(report), cores=frozenset([core])))
    await supervisor.start(ChildSpec("free", _python(report)))
    try:
        async with asyncio.timeout(60):
            while out.getvalue().count("| cores") < 2:
                await asyncio.sleep(0.05)
    finally:
        await supervisor.stop()
    shown = out.getvalue()
    assert re.search(rf"started pinned \(pid \d+\) on core {core}: ", shown)
    assert re.search(r"started free \(pid \d+\): ", shown)
    assert f"pinned  | cores [{core}] [{core}]" in shown
    everywhere = usable_cores()
    assert f"free    | cores {everywhere} {everywhere}" in shown


def test_pinning_a_running_process_moves_the_threads_it_already_has() -> None:
    core = usable_cores()[0]
    code = (
        "import os, threading, time\n"
        "from deploy.affinity import pin_process\n"
        "ready, done = threading.Event(), threading.Event()\n"
        "ids = []\n"
        "def idle():\n"
        "    ids.append(threading.get_native_id()); ready.set(); done.wait()\n"
        "t = threading.Thread(target=idle); t.start(); ready.wait()\n"
        f"pin_process({{{core}}})\n"
        "print(sorted(os.sched_getaffinity(ids[0])), sorted(os.sched_getaffinity(0)))\n"
        "done.set(); t.join()\n"
    )
    result = subprocess.run(
        _python(code), capture_output=True, text=True, check=True, cwd=REPO_ROOT, timeout=60
    )
    assert result.stdout.split() == [f"[{core}]", f"[{core}]"]
