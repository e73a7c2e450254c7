"""The GraphQL input types: filters, and the arguments of commands."""

from __future__ import annotations

from datetime import datetime

import strawberry

from services.gateway.graphql.types import AgentStatus, SessionStatus, SessionType


@strawberry.input(description="Sessions matching every field given.")
class SessionFilter:
    statuses: list[SessionStatus] | None = None
    project: str | None = None
    owner: str | None = strawberry.field(default=None, description="An access key.")
    name: str | None = None


@strawberry.input
class AgentFilter:
    resource_group: str | None = None
    statuses: list[AgentStatus] | None = None


@strawberry.input(description="Usage of the owners matching every list given.")
class UsageFilter:
    user_ids: list[str] | None = None
    access_keys: list[str] | None = None
    projects: list[str] | None = None
    domains: list[str] | None = None
    resource_groups: list[str] | None = None

    def columns(self) -> dict[str, list[str]]:
        """Owner column to the values it may take."""
        chosen = {
            "user_id": self.user_ids,
            "access_key": self.access_keys,
            "project": self.projects,
            "domain": self.domains,
            "resource_group": self.resource_groups,
        }
        return {column: values for column, values in chosen.items() if values}


@strawberry.input(description="Events matching every field given.")
class EventFilter:
    kind: str | None = strawberry.field(default=None, description="`session`, `agent`, ...")
    aggregate_id: strawberry.ID | None = None
    event_type: str | None = strawberry.field(
        default=None, description="`EventName` or `kind.EventName`."
    )


@strawberry.input(description="An amount of a slot; units allowed (`256m`, `500m` CPU).")
class ResourceSlotInput:
    slot: str
    amount: str


@strawberry.input
class EnvVarInput:
    name: str
    value: str


@strawberry.input
class MountInput:
    source: str
    target: str
    read_only: bool = False


@strawberry.input(description="As `POST /v1/sessions`; name and image are required.")
class CreateSessionInput:
    name: str
    image: str
    session_type: SessionType = SessionType.INTERACTIVE
    resources: list[ResourceSlotInput] = strawberry.field(default_factory=list)
    cluster_size: int = 1
    environ: list[EnvVarInput] = strawberry.field(default_factory=list)
    mounts: list[MountInput] = strawberry.field(default_factory=list)
    startup_command: str | None = None
    batch_timeout: float | None = None
    priority: int = 0
    depends_on: list[strawberry.ID] = strawberry.field(default_factory=list)
    starts_at: datetime | None = None
    resource_group: str = "default"
    project: str = "default"
    designated_agent: str | None = None
    requeue_on_agent_loss: bool = False
    request_id: str | None = strawberry.field(
        default=None, description="Repeat it to repeat the request without a second session."
    )


@strawberry.input
class ResourceGroupInput:
    name: str
    queue_order: str = "fifo"
    agent_selector: str = "concentrated"
    max_attempts: int = 3
    pending_timeout: float | None = None


@strawberry.input(description="What a resource policy allows; a limit left out is unlimited.")
class PolicyLimitsInput:
    total_resource_slots: list[ResourceSlotInput] = strawberry.field(default_factory=list)
    max_concurrent_sessions: int | None = None
    max_pending_sessions: int | None = None
    max_pending_slots: list[ResourceSlotInput] = strawberry.field(default_factory=list)
    max_session_lifetime: int | None = None
    idle_timeout: int | None = None
    allowed_resource_groups: list[str] = strawberry.field(default_factory=list)
