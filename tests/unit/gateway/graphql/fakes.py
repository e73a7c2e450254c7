"""Stand-ins for the GraphQL tests: read models projected from real events, NATS in memory,
a manager that answers what the test says, and callers of every role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

import msgspec

from events import codec
from events.agent import AgentLost, AgentRecovered, AgentRegistered, KernelAssigned
from events.base import DomainEvent
from events.commands import CommandError, CommandReply
from events.session import (
    KernelAssignment,
    SessionPreparing,
    SessionRunning,
    SessionScheduled,
    SessionTerminated,
)
from events.subjects import subject_for
from projections.agents import AgentView
from projections.base import Projection
from projections.batch import project_batch
from projections.changes import Change, ChangeAnnouncer
from projections.envelope import Envelope
from projections.parking import install_parking
from projections.positions import Position, install_positions, read_position, write_positions
from projections.read_store import SqliteReadStore
from projections.session_events import SessionEvents
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings
from projections.usage import ResourceUsage
from services.gateway.errors import unauthenticated
from services.gateway.graphql.context import BerthContext
from services.gateway.graphql.feed import ChangeFeed
from services.gateway.read_models import ReadModels
from services.gateway.state import GatewayState, Principal
from tests.factories import requested_session

T0 = datetime(2030, 1, 1, tzinfo=UTC)

ALICE = Principal("AKALICE", "u-alice", "alice", "user", "default", ("ml",))
BOB = Principal("AKBOB", "u-bob", "bob", "user", "default", ("ml",))
CAROL = Principal("AKCAROL", "u-carol", "carol", "user", "default", ())
DANA = Principal("AKDANA", "u-dana", "dana", "domain_admin", "default", ())
ERIN = Principal("AKERIN", "u-erin", "erin", "domain_admin", "other", ())
ROOT = Principal("AKROOT", "u-root", "root", "superadmin", "default", ())
EVERYONE = {p.username: p for p in (ALICE, BOB, CAROL, DANA, ERIN, ROOT)}


class FakeMsg:
    def __init__(self, subject: str, data: bytes) -> None:
        self.subject = subject
        self.data = data


class FakeSubscription:
    def __init__(self, nc: FakeNats, subject: str, cb: Callable[[Any], Any]) -> None:
        self.nc, self.subject, self.cb = nc, subject, cb

    async def unsubscribe(self) -> None:
        self.nc.subscriptions.remove(self)


class FakeNats:
    """Core NATS in one process: publish hands the message to matching subscribers."""

    def __init__(self) -> None:
        self.subscriptions: list[FakeSubscription] = []

    async def subscribe(self, subject: str, cb: Callable[[Any], Any]) -> FakeSubscription:
        sub = FakeSubscription(self, subject, cb)
        self.subscriptions.append(sub)
        return sub

    async def flush(self, timeout: float = 0) -> None:
        return None

    async def publish(self, subject: str, payload: bytes) -> None:
        for sub in list(self.subscriptions):
            if _matches(sub.subject, subject):
                await sub.cb(FakeMsg(subject, payload))


def _matches(pattern: str, subject: str) -> bool:
    want, got = pattern.split("."), subject.split(".")
    return len(want) == len(got) and all(w in ("*", g) for w, g in zip(want, got, strict=True))


@dataclass
class FakeManager:
    """Answers each command with ``answer(name, command)``; remembers what it was sent."""

    answer: Callable[[str, Any], CommandReply] = lambda name, command: CommandReply(ok=True)
    sent: list[tuple[str, Any]] = field(default_factory=list)

    async def send(self, name: str, command: msgspec.Struct) -> CommandReply:
        self.sent.append((name, command))
        return self.answer(name, command)

    async def destroy_session(self, session_id: str, *, actor: str, reason: str) -> CommandReply:
        self.sent.append(("session.destroy", (session_id, actor, reason)))
        return self.answer("session.destroy", session_id)


def refusing(code: str, message: str) -> Callable[[str, Any], CommandReply]:
    return lambda name, command: CommandReply(ok=False, error=CommandError(code, message))


class Projected:
    """The read models of a test, fed event by event, announcing each batch like the runner."""

    def __init__(self, path: Path, nc: FakeNats) -> None:
        self.settings = ReadStoreSettings(sqlite_path=path)
        self.store = SqliteReadStore(self.settings)
        self.models: list[Projection] = [
            SessionView(),
            AgentView(),
            SessionEvents(),
            ResourceUsage(),
        ]
        self.announcers = [ChangeAnnouncer(cast(Any, nc), m.name) for m in self.models]
        self.nid = 0
        with self.store.transaction() as tx:
            install_positions(tx)
            install_parking(tx)
            for model in self.models:
                model.install(tx)
                write_positions(tx, {model.name: Position()})

    async def apply(self, *events: DomainEvent) -> None:
        """One batch: every model takes the events in, commits, then announces."""
        envelopes = []
        for event in events:
            self.nid += 1
            topic, payload = codec.encode(event)
            envelopes.append(Envelope(self.nid, subject_for(event), self.nid, topic, payload))
        for model, announcer in zip(self.models, self.announcers, strict=True):
            changes: list[Change] = []
            with self.store.transaction() as tx:
                before = read_position(tx, model.name)
                outcome = project_batch(
                    tx, [model], {model.name: before}, envelopes, now=lambda: "now", changes=changes
                )[model.name]
                write_positions(tx, {model.name: outcome.position})
            await announcer.announce({model.name: outcome.position.notification_id}, changes)

    def close(self) -> None:
        self.store.close()


class Gateway:
    """A GatewayState over the fakes, and a context for any caller."""

    def __init__(self, projected: Projected, nc: FakeNats, manager: FakeManager) -> None:
        self.read_models = ReadModels(projected.settings)
        self.nc = nc
        self.manager = manager
        self.state = GatewayState(
            settings=cast(Any, None),
            nc=cast(Any, nc),
            manager=cast(Any, manager),
            read_connection=self.read_models.connection,
            authenticate=cast(Any, None),
            authenticate_token=self.token,
            telemetry=cast(Any, None),
            tokens=cast(Any, None),
            keypairs=cast(Any, None),
        )
        self.feed = ChangeFeed(cast(Any, nc))

    async def token(self, token: str) -> Principal:
        """Tokens are usernames here."""
        if token not in EVERYONE:
            raise unauthenticated("bad-token", "no such token")
        return EVERYONE[token]

    def context(self, principal: Principal | None) -> BerthContext:
        return BerthContext(self.state, self.feed, principal)


def requested(owner: Principal, name: str, project: str = "default", **fields: Any) -> DomainEvent:
    session = requested_session(
        name=name,
        access_key=owner.access_key,
        user_id=owner.user_id,
        project=project,
        domain=owner.domain,
        request_id=f"req-{name}",
        session_type="batch",
        at=T0,
        **fields,
    )
    return session.collect_events()[0]


def registered(agent: UUID, name: str = "agent-1") -> AgentRegistered:
    return AgentRegistered(
        originator_id=agent,
        originator_version=1,
        timestamp=T0,
        name=name,
        resource_group="default",
        architecture="x86_64",
        capacity={"cpu": "8", "mem": "17179869184"},
        images=["python"],
    )


def lifecycle(session: UUID, agent: UUID, kernel: UUID, start: int = 2) -> list[DomainEvent]:
    """Scheduled, preparing, running, terminated: the session's versions ``start`` on."""
    at = T0 + timedelta(seconds=start)
    common: dict[str, Any] = {"originator_id": session}
    assignment = KernelAssignment(index=0, kernel_id=kernel, agent_id=agent, slots={"cpu": "1"})
    return [
        SessionScheduled(
            **common, originator_version=start, timestamp=at, assignments=[assignment]
        ),
        SessionPreparing(**common, originator_version=start + 1, timestamp=at),
        SessionRunning(**common, originator_version=start + 2, timestamp=at),
        SessionTerminated(
            **common,
            originator_version=start + 3,
            timestamp=at + timedelta(seconds=1),
            reason="exited",
            exit_code=0,
            result="success",
        ),
    ]


def assigned(session: UUID, agent: UUID, kernel: UUID, version: int = 2) -> KernelAssigned:
    return KernelAssigned(
        originator_id=agent,
        originator_version=version,
        timestamp=T0 + timedelta(seconds=1),
        session_id=session,
        kernel_id=kernel,
        kernel_index=0,
        session_type="batch",
        image="python",
        slots={"cpu": "1", "mem": "1073741824"},
    )


def lost(agent: UUID, version: int) -> AgentLost:
    return AgentLost(originator_id=agent, originator_version=version, timestamp=T0, reason="silent")


def recovered(agent: UUID, version: int) -> AgentRecovered:
    return AgentRecovered(originator_id=agent, originator_version=version, timestamp=T0)


def new_id() -> UUID:
    return uuid4()
