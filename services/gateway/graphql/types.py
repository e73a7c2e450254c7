"""The GraphQL object types, enums and inputs, and how read-model rows become them.

Field names are camelCase in the schema (strawberry's default) and mirror the
REST API's JSON fields. Resource slots are lists of ``{slot, amount}`` with
decimal strings, exact as in the read models.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from projections.queries import AgentRow, ResourceGroupRow, SessionRow, StatusRow
from projections.usage import decimal_text
from services.gateway.graphql import described
from services.gateway.graphql.context import BerthContext
from services.gateway.graphql.reads import EventRow, session_events, status_changes
from services.gateway.graphql.usage import Scope, UsageSummary, printed


@strawberry.enum(description="Where a session is in its lifecycle.")
class SessionStatus(Enum):
    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"
    PREPARING = "PREPARING"
    RUNNING = "RUNNING"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


#: the most items one page may hold (a larger ``first`` is cut to it)
MAX_PAGE = 500

FINAL_STATUSES = frozenset({SessionStatus.TERMINATED, SessionStatus.ERROR, SessionStatus.CANCELLED})


@strawberry.enum
class SessionType(Enum):
    INTERACTIVE = "interactive"
    BATCH = "batch"


@strawberry.enum
class AgentStatus(Enum):
    ALIVE = "ALIVE"
    LOST = "LOST"
    DECOMMISSIONED = "DECOMMISSIONED"


strawberry.enum(Scope, name="UsageScope", description="What usage is summed by.")


@strawberry.type(description="An amount of one resource slot (`cpu`, `mem` in bytes, ...).")
class ResourceSlot:
    slot: str
    amount: str


def slots_of(amounts: dict[str, str]) -> list[ResourceSlot]:
    return [ResourceSlot(slot=slot, amount=str(amounts[slot])) for slot in sorted(amounts)]


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@strawberry.type
class Kernel:
    kernel_id: str
    agent_id: str
    index: int


@strawberry.type(description="One status a session passed through.")
class StatusChange:
    status: SessionStatus
    reason: str
    at: datetime

    @classmethod
    def of(cls, row: StatusRow) -> StatusChange:
        return cls(status=SessionStatus(row.status), reason=row.reason, at=parse_time(row.at))


@strawberry.type(description="An event about a session, its own or its kernels' on agents.")
class SessionEvent:
    notification_id: int
    stream_seq: int
    kind: str
    aggregate_id: str
    type: str
    version: int
    at: datetime
    fields: JSON

    @classmethod
    def of(cls, row: EventRow) -> SessionEvent:
        return cls(
            notification_id=row.notification_id,
            stream_seq=row.stream_seq,
            kind=row.kind,
            aggregate_id=row.aggregate_id,
            type=row.event_type,
            version=row.version,
            at=parse_time(row.at),
            fields=JSON(row.fields),
        )


@strawberry.type
class SessionEventPage:
    items: list[SessionEvent]
    next_cursor: str | None


@strawberry.type
class Session:
    id: strawberry.ID
    name: str
    owner_access_key: str
    user_id: str
    project: str
    domain: str
    resource_group: str
    image: str
    session_type: SessionType
    cluster_size: int
    status: SessionStatus
    status_reason: str
    resources: list[ResourceSlot] = strawberry.field(description="Per kernel.")
    agents: list[str]
    kernels: list[Kernel]
    exit_code: int | None
    result: str
    created_at: datetime
    updated_at: datetime

    @described.field("Every status the session passed through, oldest first.")
    async def status_history(self, info: Info[BerthContext, None]) -> list[StatusChange]:
        rows = await info.context.state.read(status_changes, str(self.id), 0)
        return [StatusChange.of(r) for r in rows]

    @described.field("Its events and its kernels' on agents, in log order, `first` at a time.")
    async def events(
        self, info: Info[BerthContext, None], first: int = 100, after: str | None = None
    ) -> SessionEventPage:
        limit = max(1, min(first, MAX_PAGE))
        session_id = str(self.id)
        page = await info.context.state.read(session_events, session_id, limit, after)
        return SessionEventPage(
            items=[SessionEvent.of(r) for r in page.items], next_cursor=page.next_cursor
        )

    @classmethod
    def of(cls, row: SessionRow) -> Session:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            owner_access_key=row.owner_access_key,
            user_id=row.user_id,
            project=row.project,
            domain=row.domain,
            resource_group=row.resource_group,
            image=row.image,
            session_type=SessionType(row.session_type),
            cluster_size=row.cluster_size,
            status=SessionStatus(row.status),
            status_reason=row.status_reason,
            resources=slots_of(row.resources),
            agents=list(row.agents),
            kernels=[
                Kernel(kernel_id=k.kernel_id, agent_id=k.agent_id, index=k.index)
                for k in row.kernels
            ],
            exit_code=row.exit_code,
            result=row.result,
            created_at=parse_time(row.created_at),
            updated_at=parse_time(row.updated_at),
        )


@strawberry.type
class SessionPage:
    items: list[Session]
    next_cursor: str | None


@strawberry.type
class Agent:
    id: strawberry.ID
    name: str
    resource_group: str
    architecture: str
    status: AgentStatus
    status_reason: str
    capacity: list[ResourceSlot]
    allocated: list[ResourceSlot]
    images: list[str]
    simulated: bool
    version: str
    kernels: int
    registered_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: AgentRow) -> Agent:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            resource_group=row.resource_group,
            architecture=row.architecture,
            status=AgentStatus(row.status),
            status_reason=row.status_reason,
            capacity=slots_of(row.capacity),
            allocated=slots_of(row.allocated),
            images=list(row.images),
            simulated=row.simulated,
            version=row.version,
            kernels=row.kernels,
            registered_at=parse_time(row.registered_at),
            updated_at=parse_time(row.updated_at),
        )


@strawberry.type
class AgentPage:
    items: list[Agent]
    next_cursor: str | None


@strawberry.type
class ResourceGroup:
    name: str
    queue_order: str
    agent_selector: str
    max_attempts: int
    pending_timeout: float | None
    agents: int
    schedulable_agents: int
    capacity: list[ResourceSlot]
    pending: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ResourceGroupRow) -> ResourceGroup:
        return cls(
            name=row.name,
            queue_order=row.queue_order,
            agent_selector=row.agent_selector,
            max_attempts=row.max_attempts,
            pending_timeout=row.pending_timeout,
            agents=row.agents,
            schedulable_agents=row.schedulable_agents,
            capacity=slots_of(row.capacity),
            pending=row.pending,
            created_at=parse_time(row.created_at),
            updated_at=parse_time(row.updated_at),
        )


@strawberry.type(description="Usage summed over the sessions the caller may see.")
class Usage:
    scope: Scope
    key: str = strawberry.field(
        description="User id, access key, `domain/project`, domain or resource group name."
    )
    sessions: int = strawberry.field(description="Sessions holding kernels now.")
    kernels: int = strawberry.field(description="Kernels held now.")
    allocated: list[ResourceSlot] = strawberry.field(description="Slots those kernels hold.")
    ended_kernels: int
    kernel_seconds: str = strawberry.field(description="Seconds the ended kernels were held.")
    slot_seconds: list[ResourceSlot] = strawberry.field(
        description="Each slot's amount times the seconds ended kernels held it."
    )

    @classmethod
    def of(cls, scope: Scope, summary: UsageSummary) -> Usage:
        return cls(
            scope=scope,
            key=summary.key,
            sessions=len(summary.sessions),
            kernels=summary.kernels,
            allocated=slots_of(printed(summary.allocated)),
            ended_kernels=summary.ended_kernels,
            kernel_seconds=decimal_text(summary.kernel_seconds),
            slot_seconds=slots_of(printed(summary.slot_seconds)),
        )


@strawberry.type
class Viewer:
    access_key: str
    user_id: str
    username: str
    role: str
    domain: str
    projects: list[str]


@strawberry.type(description="One event as it stands on the stream (the log itself).")
class StreamEvent:
    seq: int
    notification_id: int | None
    subject: str
    kind: str
    aggregate_id: str
    type: str
    topic: str
    at: datetime | None
    fields: JSON | None = strawberry.field(description="Null when it cannot be decoded.")
    error: str | None = strawberry.field(description="Why it cannot be decoded.")


@strawberry.type(description="A status a session passed through, as subscriptions report it.")
class SessionStatusChange:
    session_id: strawberry.ID
    name: str
    version: int
    status: SessionStatus
    reason: str
    at: datetime


@strawberry.type(description="An agent's status, and the agent as it is now.")
class AgentStatusChange:
    agent_id: strawberry.ID
    event: str | None = strawberry.field(
        description="The event that changed it; null when it was read without one."
    )
    version: int | None
    status: AgentStatus
    agent: Agent | None
