"""Runs the stack's processes as children: their output logged, a crash restarted, a stop orderly.

Each child is a real subprocess, so a crash is visible (its exit code is logged)
and affects no other part. A child that dies on its own is restarted after a
growing delay; one that keeps dying is given up on and the supervisor reports
the stack as failed. Stopping goes in reverse start order (the services before
the NATS server they talk to): SIGTERM, a grace period, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from deploy.logs import StackLog

SUPERVISOR_NAME = "stack"
_LINE_LIMIT = 1024 * 1024
_PR_SET_PDEATHSIG = 1
# Looked up now, not in the forked child, where loading a library could deadlock.
_prctl = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None


def _die_with_supervisor() -> None:
    """In the child, before exec: ask the kernel to SIGTERM it if the supervisor dies.

    Without this, a supervisor killed with SIGKILL would leave a nats-server
    holding the port and a manager holding the store.
    """
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    #: awaited after every start; the child counts as started when it returns
    ready: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True)
class RestartPolicy:
    max_restarts: int = 5
    first_delay: float = 0.5
    max_delay: float = 10.0
    #: a child that ran at least this long before dying starts a fresh count
    stable_after: float = 30.0

    def delay(self, restarts: int) -> float:
        return float(min(self.first_delay * 2**restarts, self.max_delay))


class ChildFailed(Exception):
    """A child could not be started."""


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class _Child:
    spec: ChildSpec
    proc: asyncio.subprocess.Process | None = None
    pump: asyncio.Task[None] | None = None
    keeper: asyncio.Task[None] | None = None
    started_at: float = 0.0
    restarts: int = 0


class Supervisor:
    def __init__(
        self,
        log: StackLog,
        policy: RestartPolicy | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        self.log = log
        self.policy = policy or RestartPolicy()
        self.stop_timeout = stop_timeout
        #: set when a child kept failing and was given up on; ``failure`` says which
        self.failed = asyncio.Event()
        self.failure: str | None = None
        self._children: list[_Child] = []
        self._stopping = asyncio.Event()
        self._hurry = asyncio.Event()

    def say(self, text: str) -> None:
        self.log.line(SUPERVISOR_NAME, text)

    def pids(self) -> dict[str, int]:
        return {c.spec.name: c.proc.pid for c in self._children if c.proc is not None}

    async def start(self, spec: ChildSpec) -> None:
        """Start a child and wait until it is ready; from then on it is kept running."""
        child = _Child(spec)
        self._children.append(child)
        await self._spawn(child)
        await self._until_ready(child)
        child.keeper = asyncio.create_task(self._keep_running(child), name=f"keep-{spec.name}")

    async def _spawn(self, child: _Child) -> None:
        spec = child.spec
        child.proc = await asyncio.create_subprocess_exec(
            *spec.argv,
            env={**os.environ, **spec.env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # A group of its own: Ctrl-C reaches only the supervisor, which then
            # stops the children in order instead of all at once.
            start_new_session=True,
            preexec_fn=_die_with_supervisor,
            limit=_LINE_LIMIT,
        )
        child.started_at = time.monotonic()
        child.pump = asyncio.create_task(self._pump(child.proc, spec.name))
        self.say(f"started {spec.name} (pid {child.proc.pid}): {' '.join(spec.argv)}")

    async def _pump(self, proc: asyncio.subprocess.Process, name: str) -> None:
        assert proc.stdout is not None
        while True:
            try:
                raw = await proc.stdout.readline()
            except ValueError:  # a line over the limit: show it in pieces
                raw = await proc.stdout.read(_LINE_LIMIT)
            if not raw:
                return
            self.log.line(name, raw.decode("utf-8", errors="replace"))

    async def _until_ready(self, child: _Child) -> None:
        assert child.proc is not None
        if child.spec.ready is None:
            return
        ready = asyncio.ensure_future(child.spec.ready())
        exited = asyncio.ensure_future(child.proc.wait())
        await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            assert child.pump is not None
            await child.pump
            raise ChildFailed(
                f"{child.spec.name} exited before it was ready ({_describe_exit(exited.result())})"
            )
        exited.cancel()
        try:
            ready.result()
        except Exception as exc:
            raise ChildFailed(f"{child.spec.name} did not become ready: {exc}") from exc

    async def _keep_running(self, child: _Child) -> None:
        name = child.spec.name
        while True:
            assert child.proc is not None and child.pump is not None
            code = await child.proc.wait()
            await child.pump
            if self._stopping.is_set():
                return
            ran_for = time.monotonic() - child.started_at
            self.say(f"!! {name} died unexpectedly ({_describe_exit(code)}) after {ran_for:.1f}s")
            if ran_for >= self.policy.stable_after:
                child.restarts = 0
            if child.restarts >= self.policy.max_restarts:
                self._give_up(
                    name,
                    f"{name} keeps dying ({child.restarts} restarts); see {self.log.path_of(name)}",
                )
                return
            delay = self.policy.delay(child.restarts)
            child.restarts += 1
            self.say(
                f"restarting {name} in {delay:.1f}s "
                f"(restart {child.restarts} of at most {self.policy.max_restarts})"
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return
            try:
                await self._spawn(child)
            except OSError as exc:
                self._give_up(name, f"{name} cannot be started again: {exc}")
                return
            if self._stopping.is_set():
                # The stop began while this restart was starting, and missed it.
                with contextlib.suppress(ProcessLookupError):
                    child.proc.terminate()
                continue
            try:
                await self._until_ready(child)
            except ChildFailed as exc:
                if not self._stopping.is_set():
                    self.say(f"!! {exc}")

    def _give_up(self, name: str, failure: str) -> None:
        self.failure = failure
        self.say(f"!! giving up on {name}: {failure}")
        self.failed.set()

    def hurry(self) -> None:
        """Stop without the grace period (a second Ctrl-C)."""
        self._hurry.set()

    async def stop(self) -> bool:
        """Stop every child, last started first. True if all stopped within the grace period."""
        self._stopping.set()
        graceful = True
        for child in reversed(self._children):
            graceful = await self._stop_child(child) and graceful
            if child.keeper is not None:
                await child.keeper
        self._children.clear()
        return graceful

    async def _stop_child(self, child: _Child) -> bool:
        proc, name = child.proc, child.spec.name
        if proc is None:
            return True
        if proc.returncode is None:
            self.say(f"stopping {name} (pid {proc.pid})")
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        exited = asyncio.ensure_future(proc.wait())
        hurry = asyncio.ensure_future(self._hurry.wait())
        await asyncio.wait(
            {exited, hurry}, timeout=self.stop_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        hurry.cancel()
        graceful = exited.done()
        if not graceful:
            self.say(f"!! {name} did not stop in {self.stop_timeout:g}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        code = await exited
        if child.pump is not None:
            await child.pump
        self.say(f"{name} stopped ({_describe_exit(code)})")
        return graceful
