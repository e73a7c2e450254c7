"""Small builders for scheduler tests: sessions and agents with readable defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from services.manager.scheduler.model import AgentCapacity, PendingSession
from services.manager.scheduler.slots import Amount, ResourceSlots

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def slots(**amounts: Amount) -> ResourceSlots:
    """``slots(cpu=1, mem="2g", cuda_device=1)``: underscores stand for the dot."""
    return ResourceSlots.parse({name.replace("_", "."): value for name, value in amounts.items()})


def session(
    number: int,
    *,
    user: str = "alice",
    priority: int = 0,
    arrival: int | None = None,
    deprioritised: bool = False,
    kernels: tuple[ResourceSlots, ...] | None = None,
) -> PendingSession:
    return PendingSession(
        session_id=UUID(int=number),
        kernels=kernels if kernels is not None else (slots(cpu=1, mem="1g"),),
        image="python",
        access_key=f"AK-{user}",
        user_id=user,
        project="default",
        domain="default",
        priority=priority,
        arrival=number if arrival is None else arrival,
        enqueued_at=T0,
        deprioritised=deprioritised,
    )


def agent(
    number: int,
    capacity: ResourceSlots,
    *,
    allocated: ResourceSlots | None = None,
    architecture: str = "x86_64",
    images: frozenset[str] = frozenset(),
    schedulable: bool = True,
) -> AgentCapacity:
    return AgentCapacity(
        agent_id=UUID(int=number),
        capacity=capacity,
        allocated=allocated if allocated is not None else ResourceSlots(),
        architecture=architecture,
        images=images,
        schedulable=schedulable,
    )
