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


def test_the_tasks_main_leaves_behind_are_cancelled() -> None:
    ended: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append("cancelled")

    async def main(stop: asyncio.Event) -> None:
        asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(0)
        ended.append("main")

    run_until_stopped(main)
    assert ended == ["main", "cancelled"]


def test_sigterm_sets_stop_and_the_signal_handlers_are_removed_after() -> None:
    seen: list[str] = []

    async def main(stop: asyncio.Event) -> None:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stop.wait(), 10)
        seen.append("stopped")

    before = signal.getsignal(signal.SIGTERM)
    run_until_stopped(main)
    assert seen == ["stopped"]
    assert signal.getsignal(signal.SIGTERM) == before


def test_an_error_of_main_is_raised() -> None:
    async def main(stop: asyncio.Event) -> None:
        raise ValueError("no store")

    with pytest.raises(ValueError, match="no store"):
        run_until_stopped(main)


def _run(script: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a Python process of its own: a process kept alive shows as a timeout
    instead of a test run that hangs."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=os.getcwd(),
    )


def test_a_service_that_does_not_stop_when_asked_is_cancelled() -> None:
    # As a service still connecting to a nats-server that has gone: nats.connect, with
    # max_reconnect_attempts=-1, tries again for ever and never looks at the stop event.
    done = _run(
        """
        import asyncio, logging, os, signal
        from services.service_loop import run_until_stopped

        async def connecting(stop: asyncio.Event) -> None:
            asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                print("cancelled", flush=True)
                raise

        logging.basicConfig(level=logging.INFO)
        run_until_stopped(connecting, grace=0.3)
        print("ended", flush=True)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["cancelled", "ended"]
    assert "still running 0.3 s after it was asked to stop; cancelling it" in done.stderr


def test_a_task_that_outlives_its_cancellation_does_not_keep_the_process_alive() -> None:
    # As nats-py's reconnection loop can on Python 3.11: the cancellation is taken for a
    # failed attempt, and the loop tries again.
    done = _run(
        """
        import asyncio, logging
        from services.service_loop import run_until_stopped

        async def reconnecting() -> None:
            while True:
                try:
                    await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    continue

        async def main(stop: asyncio.Event) -> None:
            asyncio.get_running_loop().create_task(reconnecting(), name="reconnect")
            await asyncio.sleep(0)

        logging.basicConfig(level=logging.INFO)
        run_until_stopped(main, grace=0.3)
        print("ended", flush=True)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ended"
    assert "1 task(s) still running 0.3 s after they were cancelled" in done.stderr
    assert "reconnect (" in done.stderr and "reconnecting" in done.stderr
    assert "Task was destroyed but it is pending" not in done.stderr
