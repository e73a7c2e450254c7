"""``berth up``'s main job for now: commands in, events on the stream, the read model updated.

It requests three sessions through the manager, cancels one, watches the four
resulting events arrive on ``BERTH_EVENTS`` and waits until the session read
model shows them with the right statuses. Each run uses fresh request ids, so
every run adds to what earlier runs left; nothing is ever reset.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from deploy.event_tail import EventTail, SeenEvent
from deploy.session_view import SessionRow, read_sessions
from deploy.stack import Stack
from events.base import Command
from events.commands import (
    CANCEL_SESSION,
    REQUEST_SESSION,
    CancelSession,
    CommandReply,
    RequestSession,
    SessionType,
)
from events.streams import EVENTS_STREAM
from services.manager.client import ManagerClient
from services.manager.store import EventStore

OWNER = "demo"
#: generous: the manager may still be starting, and the machine may be busy
PATIENCE = 60.0
LABEL = "demo"


@dataclass(frozen=True)
class DemoSession:
    name: str
    session_type: SessionType
    resources: dict[str, str]
    startup_command: str | None = None


SESSIONS = [
    DemoSession("notebook", "interactive", {"cpu": "1", "mem": "2147483648"}),
    DemoSession("train", "batch", {"cpu": "2", "mem": "4294967296"}, "python train.py --epochs 3"),
    DemoSession("scratch", "interactive", {"cpu": "0.5", "mem": "536870912"}),
]
#: the session the demo changes its mind about
CANCELLED = 2


class DemoFailed(Exception):
    pass


async def _send(client: ManagerClient, name: str, command: Command) -> CommandReply:
    """Send a command, waiting for the manager to answer at all.

    Resending is safe: the command carries the same request id each time, and
    the manager answers a repeat with the first outcome.
    """
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            reply = await client.send(name, command)
        except (NoRespondersError, NatsTimeout):
            if time.monotonic() > deadline:
                raise DemoFailed(f"{name}: the manager did not answer in {PATIENCE:.0f}s") from None
            await asyncio.sleep(0.2)
            continue
        if not reply.ok:
            error = reply.error
            reason = f"{error.code}: {error.message}" if error else "no reason given"
            raise DemoFailed(f"{name} refused: {reason}")
        return reply


class Demo:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.run_id = uuid.uuid4().hex[:6]

    def say(self, text: str) -> None:
        self.stack.log.line(LABEL, text)

    async def run(self, nc: NATS, tail: EventTail) -> None:
        client = ManagerClient(nc)
        self.say(f"requesting {len(SESSIONS)} sessions as {OWNER!r} (run {self.run_id})")
        ids: list[str] = []
        for i, spec in enumerate(SESSIONS):
            name = f"{spec.name}-{self.run_id}"
            command = RequestSession(
                request_id=f"demo-{self.run_id}-{i}",
                name=name,
                owner=OWNER,
                image="berth/python:3.11",
                session_type=spec.session_type,
                resources=spec.resources,
                startup_command=spec.startup_command,
            )
            reply = await _send(client, REQUEST_SESSION, command)
            assert reply.session_id is not None
            ids.append(reply.session_id)
            self.say(f"  {name}: session {reply.session_id} (notification {reply.notification_id})")
        cancelled = ids[CANCELLED]
        cancel = CancelSession(
            request_id=f"demo-{self.run_id}-cancel",
            session_id=cancelled,
            owner=OWNER,
            reason="demo: not needed after all",
        )
        await _send(client, CANCEL_SESSION, cancel)
        self.say(f"cancelled {SESSIONS[CANCELLED].name}-{self.run_id} ({cancelled})")

        expected = {(sid, "SessionRequested") for sid in ids} | {(cancelled, "SessionCancelled")}

        def all_arrived(seen: list[SeenEvent]) -> bool:
            return expected <= {(e.aggregate_id, e.name) for e in seen}

        if not await tail.wait_for(all_arrived, PATIENCE):
            raise DemoFailed(f"the {len(expected)} events did not all reach {EVENTS_STREAM}")
        self.say(f"all {len(expected)} events are on {EVENTS_STREAM}")

        statuses = {sid: "PENDING" for sid in ids} | {cancelled: "CANCELLED"}
        rows = await self._wait_for_read_model(statuses)
        self.say("the session read model shows:")
        for row in rows:
            self.say(f"  {row.name:<20} {row.session_type:<12} {row.status:<10} {row.session_id}")
        await self._totals(nc)

    async def _wait_for_read_model(self, statuses: dict[str, str]) -> list[SessionRow]:
        deadline = time.monotonic() + PATIENCE
        while True:
            rows = await asyncio.to_thread(read_sessions, list(statuses))
            if {row.session_id: row.status for row in rows} == statuses:
                return rows
            if time.monotonic() > deadline:
                shown = {row.session_id: row.status for row in rows}
                raise DemoFailed(f"the read model shows {shown}, expected {statuses}")
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


def _count_stored(stack: Stack) -> int:
    store = EventStore(stack.settings.store)
    try:
        return store.max_notification_id()
    finally:
        store.close()


async def run_demo(stack: Stack, *, keep_tailing: bool) -> str | None:
    """The main job: None when the demo saw its events everywhere, else why not."""
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
