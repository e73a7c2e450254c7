"""``run_until_stopped``: a service's main coroutine, its stop signal, and what it leaves behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from services.service_loop import run_until_stopped


def test_it_returns_what_main_returns_and_cancels_the_tasks_left_behind() -> None:
    ended: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append("cancelled")

    async def main(stop: asyncio.Event) -> int:
        asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(0)
        return 42

    assert run_until_stopped(main) == 42
    assert ended == ["cancelled"]


def test_sigterm_sets_stop_and_the_signal_handlers_are_removed_after() -> None:
    async def main(stop: asyncio.Event) -> str:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stop.wait(), 10)
        return "stopped"

    before = signal.getsignal(signal.SIGTERM)
    assert run_until_stopped(main) == "stopped"
    assert signal.getsignal(signal.SIGTERM) == before


def test_an_error_of_main_is_raised() -> None:
    async def main(stop: asyncio.Event) -> None:
        raise ValueError("no store")

    with pytest.raises(ValueError, match="no store"):
        run_until_stopped(main)


def test_a_task_that_outlives_its_cancellation_does_not_keep_the_process_alive() -> None:
    # As nats-py's reconnection loop can on Python 3.11: the cancellation is taken for a
    # failed attempt, and the loop tries again. Run in a process of its own, so that a
    # process kept alive shows as a timeout instead of a hanging test run.
    script = textwrap.dedent(
        """
        import asyncio, logging
        from services.service_loop import run_until_stopped

        async def reconnecting() -> None:
            while True:
                try:
                    await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    continue

        async def main(stop: asyncio.Event) -> str:
            asyncio.get_running_loop().create_task(reconnecting(), name="reconnect")
            await asyncio.sleep(0)
            return "main ended"

        logging.basicConfig(level=logging.INFO)
        print(run_until_stopped(main, grace=0.3), flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=os.getcwd(),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "main ended"
    assert "1 task(s) still running 0.3 s after they were cancelled" in done.stderr
    assert "reconnect (" in done.stderr and "reconnecting" in done.stderr
    assert "Task was destroyed but it is pending" not in done.stderr
