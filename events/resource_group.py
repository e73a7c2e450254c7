"""Events of the ``rgroup`` aggregate (ResourceGroup): the scheduler of one group of agents.

It holds every member agent's capacity and allocations and the queue of pending
sessions, and decides placements in batches: one ``SessionsPlaced`` event per
scheduling round, saved in the same transaction as the sessions' and agents' events.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

import msgspec

from events.base import DomainEvent


class QueuedSession(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    session_id: UUID
    kernels: list[dict[str, str]]
    image: str
    architecture: str
    access_key: str
    user_id: str
    project: str
    domain: str
    priority: int = 0
    depends_on: list[UUID] = msgspec.field(default_factory=list)
    starts_at: datetime | None = None
    designated_agent: UUID | None = None


class PlacedKernel(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    index: int
    kernel_id: UUID
    agent_id: UUID
    slots: dict[str, str]


class PlacedSession(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    session_id: UUID
    kernels: list[PlacedKernel]


class SchedulingFailure(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    session_id: UUID
    reason: str
    attempts: int
    deprioritised: bool


class _GroupEvent(DomainEvent, frozen=True, kw_only=True):
    kind: ClassVar[str] = "rgroup"


class ResourceGroupCreated(_GroupEvent, frozen=True, kw_only=True):
    name: str
    queue_order: str
    agent_selector: str
    max_attempts: int
    pending_timeout: float | None


class ResourceGroupPolicyChanged(_GroupEvent, frozen=True, kw_only=True):
    queue_order: str
    agent_selector: str
    max_attempts: int
    pending_timeout: float | None


class AgentJoined(_GroupEvent, frozen=True, kw_only=True):
    agent_id: UUID
    architecture: str
    capacity: dict[str, str]
    images: list[str] = msgspec.field(default_factory=list)


class AgentCapacityChanged(_GroupEvent, frozen=True, kw_only=True):
    agent_id: UUID
    capacity: dict[str, str]
    images: list[str]


class AgentAvailabilityChanged(_GroupEvent, frozen=True, kw_only=True):
    """An agent stops (lost, decommissioned) or resumes taking new sessions."""

    agent_id: UUID
    schedulable: bool
    reason: str


class AgentRemoved(_GroupEvent, frozen=True, kw_only=True):
    agent_id: UUID
    reason: str


class SessionEnqueued(_GroupEvent, frozen=True, kw_only=True):
    session: QueuedSession


class SessionsPlaced(_GroupEvent, frozen=True, kw_only=True):
    placements: list[PlacedSession]


class SchedulingAttemptsFailed(_GroupEvent, frozen=True, kw_only=True):
    """Sessions that could not be placed this round for a reason of their own."""

    failures: list[SchedulingFailure]


class SessionDequeued(_GroupEvent, frozen=True, kw_only=True):
    """Left the queue unplaced: cancelled, timed out, or found impossible."""

    session_id: UUID
    reason: str


class AllocationReleased(_GroupEvent, frozen=True, kw_only=True):
    session_id: UUID
    agent_id: UUID
    kernel_id: UUID
    reason: str
