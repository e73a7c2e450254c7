"""``berth up``'s main job: real sessions in containers, requested, run and ended, shown live.

As the first administrator (whose credentials the manager wrote at its first
start), it makes sure the small test image exists, requests an interactive
session and a batch session whose command is ``exit 3`` on this machine's Podman
agent, then runs ``berth run berth-small -- echo 42`` through the REST API — the
way a user would — and prints its output. It destroys the interactive session,
waits until each session has gone PENDING → SCHEDULED → PREPARING → RUNNING →
TERMINATED on ``BERTH_EVENTS`` and in the session read model, with the exit code
and result its command implies, and prints where the API and GraphQL are.
Each run uses fresh request ids and names, so every run adds to what earlier runs
left; nothing is ever reset.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from deploy.event_tail import EventTail, SeenEvent
from deploy.session_view import SessionRow, read_sessions
from deploy.stack import Stack
from events.commands import CommandReply, SessionType
from events.streams import EVENTS_STREAM
from images.build import build_images
from services.manager.client import ManagerClient
from services.manager.store import EventStore

#: generous: the manager may still be starting, and the machine may be busy
PATIENCE = 120.0
LABEL = "demo"
CREDENTIALS = "admin-credentials.json"
IMAGE = "berth-small"
#: refusals that only mean "the agent has not registered (its images) yet"
NOT_YET = frozenset({"unknown-image", "unschedulable"})
FLOW = ("SessionScheduled", "SessionPreparing", "SessionRunning", "SessionTerminated")
#: the command ``berth run`` runs, and what it must print
RUN_COMMAND = ("echo", "42")
RUN_OUTPUT = "42"


@dataclass(frozen=True)
class DemoSession:
    name: str
    session_type: SessionType
    resources: dict[str, str]
    startup_command: str | None
    #: what the read model must show at the end: (exit code, result)
    outcome: tuple[int, str]


SESSIONS = [
    # Destroyed once running: its shell stops on SIGTERM with 0; interactive has no result.
    DemoSession("notebook", "interactive", {"cpu": "0.5", "mem": "128m"}, None, (0, "undefined")),
    DemoSession("broken", "batch", {"cpu": "0.5", "mem": "64m"}, "exit 3", (3, "failure")),
]
DESTROYED = 0
#: the session ``berth run`` makes (its default resources), and what it must end with
RUN_OUTCOME = (0, "success")


class DemoFailed(Exception):
    pass


def _refusal(name: str, reply: CommandReply) -> str:
    error = reply.error
    return f"{name} refused: " + (f"{error.code}: {error.message}" if error else "no reason")


class Demo:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.run_id = uuid.uuid4().hex[:6]

    def say(self, text: str) -> None:
        self.stack.log.line(LABEL, text)

    async def _admin(self) -> str:
        """The first administrator's access key, once the manager has written it."""
        path: Path = self.stack.settings.data_dir / CREDENTIALS
        deadline = time.monotonic() + PATIENCE
        while not path.exists():
            if time.monotonic() > deadline:
                raise DemoFailed(f"the manager wrote no {path} in {PATIENCE:.0f}s")
            await asyncio.sleep(0.2)
        return str(json.loads(path.read_text())["access_key"])

    async def _request(self, client: ManagerClient, admin: str, i: int) -> str:
        """Request one session; resending is safe, the request id stays the same."""
        spec = SESSIONS[i]
        deadline = time.monotonic() + PATIENCE
        while True:
            try:
                reply = await client.request_session(
                    actor=admin,
                    request_id=f"demo-{self.run_id}-{i}",
                    name=f"{spec.name}-{self.run_id}",
                    image=IMAGE,
                    session_type=spec.session_type,
                    resources=spec.resources,
                    startup_command=spec.startup_command,
                )
            except (NoRespondersError, NatsTimeout):
                reply = None
            if reply is not None and reply.ok and reply.session_id is not None:
                return reply.session_id
            if reply is not None and (reply.error is None or reply.error.code not in NOT_YET):
                raise DemoFailed(_refusal("session.request", reply))
            if time.monotonic() > deadline:
                why = _refusal("session.request", reply) if reply else "no answer"
                raise DemoFailed(f"the manager did not take a session in {PATIENCE:.0f}s: {why}")
            await asyncio.sleep(0.2)

    async def run(self, nc: NATS, tail: EventTail) -> None:
        self.say(f"making sure the image {IMAGE} exists (built locally, no registry)")
        await asyncio.to_thread(build_images, [IMAGE], say=lambda line: None)
        client = ManagerClient(nc)
        admin = await self._admin()
        agent = self.stack.settings.agent
        self.say(
            f"requesting {len(SESSIONS)} sessions as the first administrator (run {self.run_id})"
            f" on the Podman agent {agent}"
        )
        ids: list[str] = []
        for i, spec in enumerate(SESSIONS):
            sid = await self._request(client, admin, i)
            ids.append(sid)
            what = spec.startup_command or "interactive"
            self.say(f"  {spec.name}-{self.run_id}: session {sid} ({what})")

        destroyed = ids[DESTROYED]
        await self._wait_on_stream(tail, {(destroyed, "SessionRunning")}, "the notebook to run")
        run_name = f"hello-{self.run_id}"
        await self._berth_run(run_name)
        reply = await client.destroy_session(
            destroyed, actor=admin, reason="demo: not needed after all"
        )
        if not reply.ok:
            raise DemoFailed(_refusal("session.destroy", reply))
        self.say(f"destroyed {SESSIONS[DESTROYED].name}-{self.run_id} ({destroyed})")

        expected = {(sid, name) for sid in ids for name in FLOW}
        expected.add((destroyed, "SessionTerminating"))
        await self._wait_on_stream(tail, expected, "every session to end")
        self.say(
            f"all {len(ids)} sessions went {' → '.join(['PENDING', *_statuses()])} on "
            f"{EVENTS_STREAM} (the destroyed notebook by way of TERMINATING)"
        )

        outcomes = {sid: spec.outcome for sid, spec in zip(ids, SESSIONS, strict=True)}
        rows = await self._wait_for_read_model(outcomes, run_name)
        self.say("the session read model shows:")
        for row in rows:
            code = "-" if row.exit_code is None else str(row.exit_code)
            self.say(
                f"  {row.name:<16} {row.session_type:<12} {row.status:<11} "
                f"exit {code:<4} {row.result:<10} {row.session_id}"
            )
        await self._totals(nc)

    async def _berth_run(self, name: str) -> None:
        """``berth run`` as a user types it, with the administrator's keypair."""
        credentials = json.loads((self.stack.settings.data_dir / CREDENTIALS).read_text())
        command = ["berth", "run", "--name", name, IMAGE, "--", *RUN_COMMAND]
        self.say("$ " + " ".join(command))
        env = {
            **os.environ,
            "BERTH_ENDPOINT": self.stack.settings.api_url,
            "BERTH_ACCESS_KEY": credentials["access_key"],
            "BERTH_SECRET_KEY": credentials["secret_key"],
            "NO_COLOR": "1",
        }
        berth = str(Path(sys.executable).with_name("berth"))
        proc = await asyncio.create_subprocess_exec(
            berth,
            *command[1:],
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert proc.stdout is not None
        printed: list[str] = []
        async with asyncio.timeout(PATIENCE):
            async for raw in proc.stdout:
                line = raw.decode(errors="replace").rstrip()
                printed.append(line)
                self.stack.log.line("run", line)
            code = await proc.wait()
        if code != 0 or RUN_OUTPUT not in printed:
            raise DemoFailed(f"berth run exited with {code} and printed {printed}")
        self.say(f"berth run printed {RUN_OUTPUT} and exited with 0")

    async def _wait_on_stream(
        self, tail: EventTail, expected: set[tuple[str, str]], what: str
    ) -> None:
        def arrived(seen: list[SeenEvent]) -> bool:
            return expected <= {(e.aggregate_id, e.name) for e in seen}

        if not await tail.wait_for(arrived, PATIENCE):
            raise DemoFailed(f"waited {PATIENCE:.0f}s on {EVENTS_STREAM} for {what}")

    async def _wait_for_read_model(
        self, outcomes: dict[str, tuple[int, str]], run_name: str
    ) -> list[SessionRow]:
        wanted = {sid: ("TERMINATED", code, result) for sid, (code, result) in outcomes.items()}
        wanted[run_name] = ("TERMINATED", *RUN_OUTCOME)
        deadline = time.monotonic() + PATIENCE
        while True:
            rows = await asyncio.to_thread(read_sessions, None)
            shown = {
                (r.name if r.name == run_name else r.session_id): (r.status, r.exit_code, r.result)
                for r in rows
                if r.session_id in outcomes or r.name == run_name
            }
            if shown == wanted:
                return [r for r in rows if r.session_id in outcomes or r.name == run_name]
            if time.monotonic() > deadline:
                raise DemoFailed(f"the read model shows {shown}, expected {wanted}")
            await asyncio.sleep(0.2)

    async def _totals(self, nc: NATS) -> None:
        info = await nc.jetstream().stream_info(EVENTS_STREAM)
        stored = await asyncio.to_thread(_count_stored, self.stack)
        sessions = await asyncio.to_thread(read_sessions, None)
        self.say(
            f"totals: store {stored} events, stream {info.state.messages} events, "
            f"read model {len(sessions)} sessions"
        )

    def show_where(self) -> None:
        settings = self.stack.settings
        self.say("your data (kept across restarts):")
        for what, where in settings.where():
            self.say(f"  {what:<12} {where}")
        env = f"BERTH_DATA_DIR={settings.data_dir} BERTH_NATS_URL={settings.nats.url}"
        self.say(f"inspect it:  {env} berth events tail")
        self.say(f"             {env} berth events verify")
        self.say(f"use it:      berth login --endpoint {settings.api_url}  (keys in {CREDENTIALS})")


def _statuses() -> list[str]:
    return [name.removeprefix("Session").upper() for name in FLOW]


def _count_stored(stack: Stack) -> int:
    store = EventStore(stack.settings.store)
    try:
        return store.max_notification_id()
    finally:
        store.close()


async def run_demo(stack: Stack, *, keep_tailing: bool) -> str | None:
    """The main job: None when the demo saw its sessions flow everywhere, else why not."""
    demo = Demo(stack)
    nc = await nats.connect(stack.settings.nats.url, max_reconnect_attempts=-1)
    tail = EventTail(nc.jetstream(), stack.log)
    try:
        info = await nc.jetstream().stream_info(EVENTS_STREAM)
        await tail.start(info.state.last_seq + 1)
        try:
            await demo.run(nc, tail)
        except DemoFailed as exc:
            return str(exc)
        finally:
            demo.show_where()
        if keep_tailing:
            demo.say("following new events as they arrive")
            await asyncio.Event().wait()
        return None
    finally:
        await tail.stop()
        await nc.close()
