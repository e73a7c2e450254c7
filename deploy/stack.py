"""The embedded single-node stack: nats-server, the manager (with the relay), the projections,
the gateway (REST and GraphQL) and a Podman agent for this machine.

Everything lives under one data directory, so stopping and starting again keeps
all state::

    <data dir>/stack.lock        held while a stack runs (one stack per data dir)
    <data dir>/events.sqlite3    the event store (unless BERTH_STORE=postgres)
    <data dir>/jetstream/        the NATS JetStream store (BERTH_EVENTS, BERTH_FACTS)
    <data dir>/agent/<name>/     the agent's archive of finished sessions' output
    <data dir>/logs/<name>.log   each process's output, with times

NATS comes first (the others talk through it), then the streams are made sure
of, then the services; they stop in the reverse order. Session containers outlive
a stopped stack: the agent adopts them when it starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import nats
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from deploy.lock import DataDirBusy, DataDirLock
from deploy.logs import StackLog
from deploy.natsd import NatsServerConfig, nats_server_binary, write_config
from deploy.supervisor import ChildFailed, ChildSpec, RestartPolicy, Supervisor
from events.streams import ensure_streams
from services.gateway.settings import GatewaySettings
from services.manager.settings import StoreSettings, data_dir

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2


def agent_name() -> str:
    """This machine's agent: ``BERTH_AGENT_NAME``, else the host name (as an agent name)."""
    given = os.environ.get("BERTH_AGENT_NAME")
    if given:
        return given
    name = re.sub(r"[^a-z0-9._-]", "-", socket.gethostname().lower()).strip("-.")
    return name[:63] or "local"


#: what runs once the stack is up; returns None when it succeeded, else why it failed
MainJob = Callable[["Stack"], Awaitable[str | None]]


class StackError(Exception):
    """The stack cannot start, for a reason the user can act on."""


@dataclass(frozen=True)
class StackSettings:
    data_dir: Path
    nats: NatsServerConfig
    store: StoreSettings
    gateway: GatewaySettings
    agent: str
    stop_timeout: float = 10.0

    @classmethod
    def from_env(cls) -> StackSettings:
        root = data_dir()
        return cls(
            data_dir=root,
            nats=NatsServerConfig.from_env(root),
            store=StoreSettings.from_env(),
            gateway=GatewaySettings.from_env(),
            agent=agent_name(),
        )

    @property
    def api_url(self) -> str:
        return f"http://{self.gateway.host}:{self.gateway.port}"

    def child_env(self) -> dict[str, str]:
        return {
            "BERTH_DATA_DIR": str(self.data_dir),
            "BERTH_NATS_URL": self.nats.url,
            "BERTH_STORE": self.store.backend,
            # Children's output is read line by line; unbuffered keeps it live.
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def store_location(self) -> str:
        if self.store.backend == "sqlite":
            return str(self.store.sqlite_path)
        # Shown on the terminal and in logs: never the password.
        params = conninfo_to_dict(self.store.pg_dsn)
        params.pop("password", None)
        return "PostgreSQL " + make_conninfo(**params)  # type: ignore[arg-type]

    def where(self) -> list[tuple[str, str]]:
        """Where each part keeps its state, for the user."""
        return [
            ("event store", self.store_location),
            ("JetStream", str(self.nats.store_dir)),
            ("logs", str(self.data_dir / "logs")),
            ("NATS", self.nats.url),
            ("REST API", f"{self.api_url}/v1  (OpenAPI: {self.api_url}/docs)"),
            ("GraphQL", f"{self.api_url}/graphql"),
        ]


async def _wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return


def _check_port_free(host: str, port: int, who: str, variable: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise StackError(
                f"{host}:{port} is already in use, so {who} cannot listen there; "
                f"set {variable} to a free port"
            ) from None


class Stack:
    def __init__(
        self, settings: StackSettings, log: StackLog, policy: RestartPolicy | None = None
    ) -> None:
        self.settings = settings
        self.log = log
        self.supervisor = Supervisor(log, policy, stop_timeout=settings.stop_timeout)

    def _nats(self) -> ChildSpec:
        config = self.settings.nats
        conf_file = write_config(config)
        return ChildSpec(
            name="nats",
            # The stack's log stamps every line already.
            argv=[nats_server_binary(), "-c", str(conf_file), "--logtime=false"],
            ready=lambda: _wait_for_port(config.host, config.port),
        )

    def _services(self) -> list[ChildSpec]:
        settings = self.settings
        env = settings.child_env()
        python = sys.executable
        gateway = settings.gateway
        return [
            ChildSpec("manager", [python, "-m", "services.manager", "serve"], env),
            ChildSpec("project", [python, "-m", "projections"], env),
            ChildSpec(
                "gateway",
                [python, "-m", "services.gateway"],
                env,
                ready=lambda: _wait_for_port(gateway.host, gateway.port, timeout=60.0),
            ),
            ChildSpec("agent", [python, "-m", "services.agent", "--name", settings.agent], env),
        ]

    async def start(self) -> None:
        nats_config, gateway = self.settings.nats, self.settings.gateway
        _check_port_free(nats_config.host, nats_config.port, "nats-server", "BERTH_NATS_PORT")
        _check_port_free(gateway.host, gateway.port, "the gateway", "BERTH_GATEWAY_PORT")
        await self.supervisor.start(self._nats())
        nc = await nats.connect(self.settings.nats.url, connect_timeout=5)
        try:
            await ensure_streams(nc.jetstream())
        finally:
            await nc.close()
        for spec in self._services():
            await self.supervisor.start(spec)

    async def stop(self) -> bool:
        return await self.supervisor.stop()


async def _first(*aws: Awaitable[object]) -> None:
    """Wait until the first of these finishes; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Run:
    """One ``berth up``: the stack, the main job, and the signals that end them."""

    def __init__(self, stack: Stack, job: MainJob | None, stop_after_job: bool) -> None:
        self.stack = stack
        self.job = job
        self.stop_after_job = stop_after_job
        self.stop = asyncio.Event()
        self.failure: str | None = None

    def on_signal(self, sig: signal.Signals) -> None:
        if self.stop.is_set():
            self.stack.log.line("stack", f"{sig.name} again: killing what is left")
            self.stack.supervisor.hurry()
            return
        self.stack.log.line("stack", f"{sig.name}: stopping the stack")
        self.stop.set()

    async def _start(self) -> bool:
        starting = asyncio.ensure_future(self.stack.start())
        await _first(starting, self.stop.wait())
        if starting.cancelled():
            return False
        exc = starting.exception()
        if exc is None:
            return True
        known = isinstance(exc, StackError | ChildFailed)
        self.failure = f"the stack did not start: {exc if known else repr(exc)}"
        return False

    async def _job(self) -> None:
        assert self.job is not None
        try:
            reason = await self.job(self.stack)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
        if reason is not None:
            self.stack.log.line("stack", f"!! the main job failed: {reason}")
        if self.stop_after_job:
            self.failure = self.failure or reason
            self.stop.set()

    async def run(self) -> int:
        log = self.stack.log
        job_task: asyncio.Task[None] | None = None
        try:
            if await self._start():
                log.line("stack", "berth is up; Ctrl-C stops it")
                if self.job is not None:
                    job_task = asyncio.create_task(self._job())
                await _first(self.stop.wait(), self.stack.supervisor.failed.wait())
                self.failure = self.failure or self.stack.supervisor.failure
        finally:
            if job_task is not None:
                job_task.cancel()
                await asyncio.gather(job_task, return_exceptions=True)
            graceful = await self.stack.stop()
        if self.failure:
            log.line("stack", f"!! {self.failure}")
            return EXIT_FAILED
        settings = self.stack.settings
        kept = str(settings.data_dir)
        if settings.store.backend != "sqlite":
            kept += f" and {settings.store_location}"
        how = "cleanly" if graceful else "(some processes had to be killed; see their logs)"
        log.line("stack", f"stopped {how}; the state is kept in {kept}")
        return EXIT_OK


async def run_stack(
    settings: StackSettings,
    job: MainJob | None = None,
    *,
    stop_after_job: bool = False,
    out: TextIO | None = None,
) -> int:
    """Run the stack until Ctrl-C or SIGTERM (or the end of ``job``); returns the exit code."""
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire()
    except DataDirBusy as exc:
        print(f"berth: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    log = StackLog(settings.data_dir / "logs", out)
    run = _Run(Stack(settings, log), job, stop_after_job)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, run.on_signal, sig)
    try:
        return await run.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        log.close()
        lock.release()
