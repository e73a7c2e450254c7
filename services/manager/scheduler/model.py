"""The scheduler's view of the world: agents with capacity, sessions waiting for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from services.manager.scheduler.slots import ResourceSlots


@dataclass
class AgentCapacity:
    """One agent as the scheduler sees it: what it has, what is allocated on it."""

    agent_id: UUID
    capacity: ResourceSlots
    allocated: ResourceSlots
    architecture: str = "x86_64"
    images: frozenset[str] = frozenset()
    schedulable: bool = True

    @property
    def available(self) -> ResourceSlots:
        return self.capacity - self.allocated


@dataclass
class PendingSession:
    """A session waiting in a resource group's queue."""

    session_id: UUID
    #: one entry per kernel (container); a cluster session of size N has N entries
    kernels: tuple[ResourceSlots, ...]
    image: str
    access_key: str
    user_id: str
    project: str
    domain: str
    priority: int
    #: position in arrival order (the resource group's enqueue counter)
    arrival: int
    enqueued_at: datetime
    architecture: str = "x86_64"
    depends_on: tuple[UUID, ...] = ()
    starts_at: datetime | None = None
    designated_agent: UUID | None = None
    attempts: int = 0
    #: set after too many failed attempts: goes behind everything of its priority
    deprioritised: bool = False

    @property
    def total(self) -> ResourceSlots:
        return ResourceSlots.sum(self.kernels)


@dataclass(frozen=True)
class KernelPlacement:
    kernel_index: int
    agent_id: UUID
    slots: ResourceSlots


@dataclass(frozen=True)
class Placement:
    session_id: UUID
    kernels: tuple[KernelPlacement, ...]


@dataclass
class OwnerUsage:
    """What one owner (keypair, user or project) holds and waits for, for quotas and DRF."""

    allocated: ResourceSlots = field(default_factory=lambda: ResourceSlots())
    running_sessions: int = 0
    pending_sessions: int = 0
    pending_slots: ResourceSlots = field(default_factory=lambda: ResourceSlots())
