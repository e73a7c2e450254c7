"""The ResourceGroup aggregate: the scheduler of one group of agents.

It holds each member agent's capacity and allocations, the queue of pending
sessions, and per-owner usage, and records each scheduling round as events. The
decision itself is :func:`services.manager.scheduler.round.decide_round`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import ClassVar
from uuid import UUID, uuid5

from events.base import DomainEvent
from events.request_ids import with_time_of
from events.resource_group import (
    AgentAvailabilityChanged,
    AgentCapacityChanged,
    AgentJoined,
    AgentRemoved,
    AllocationReleased,
    PlacedKernel,
    PlacedSession,
    QueuedSession,
    ResourceGroupCreated,
    ResourceGroupPolicyChanged,
    SchedulingAttemptsFailed,
    SchedulingFailure,
    SessionDequeued,
    SessionEnqueued,
    SessionsPlaced,
)
from services.manager.domain.aggregate import Aggregate
from services.manager.scheduler.agent_selection import AgentPool, AgentSelector
from services.manager.scheduler.model import AgentCapacity, OwnerUsage, PendingSession
from services.manager.scheduler.queue_order import QueueOrder
from services.manager.scheduler.round import (
    DependencyState,
    QuotaGate,
    RoundOutcome,
    RoundPolicy,
    decide_round,
)
from services.manager.scheduler.slots import ResourceSlots

GROUP_NAMESPACE = UUID("3c0b6a3e-51a4-4b8f-8f3a-9f1d2b7e6c55")


@lru_cache(maxsize=4096)
def group_id_for(name: str) -> UUID:
    return uuid5(GROUP_NAMESPACE, name)


def usage_keys(session: PendingSession) -> list[tuple[str, str]]:
    """The three scopes whose usage a session counts towards (see the Directory's limits)."""
    return [
        ("keypair", session.access_key),
        ("user", session.user_id),
        ("project", f"{session.domain}/{session.project}"),
    ]


def kernel_id_for(session_id: UUID, placement_no: int, index: int) -> UUID:
    """Deterministic, so replaying a round gives the same kernels.

    The kernel of a session whose id starts with its request time (a UUIDv8, see
    :func:`~services.manager.domain.session.session_id_for`) starts with the same time,
    so kernel ids sort as their sessions do and the kernels' tables take new kernels
    beside the newest ones.
    """
    return with_time_of(session_id, uuid5(session_id, f"{placement_no}.{index}"))


DependencyLookup = Callable[[UUID], DependencyState]


class ResourceGroupError(Exception):
    pass


@dataclass
class RoundRecord:
    """What one round recorded: placements with their kernel ids, failures, drops."""

    placed: list[PlacedSession] = field(default_factory=list)
    outcome: RoundOutcome = field(default_factory=RoundOutcome)


class Allocation:
    __slots__ = ("kernels", "session")

    def __init__(self, session: PendingSession) -> None:
        self.session = session
        #: kernel id -> (agent id, slots)
        self.kernels: dict[UUID, tuple[UUID, ResourceSlots]] = {}


class ResourceGroup(Aggregate):
    kind: ClassVar[str] = "rgroup"

    def _init_state(self) -> None:
        self.name = ""
        self.queue_order = QueueOrder.FIFO
        self.agent_selector = AgentSelector.CONCENTRATED
        self.max_attempts = 3
        self.pending_timeout: float | None = None
        self.pool = AgentPool()
        self.queue: dict[UUID, PendingSession] = {}
        self.allocations: dict[UUID, Allocation] = {}
        self.placement_counts: dict[UUID, int] = {}
        self.arrivals = 0
        self.usage: dict[tuple[str, str], OwnerUsage] = {}

    # -- commands -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        name: str,
        queue_order: QueueOrder,
        agent_selector: AgentSelector,
        max_attempts: int,
        pending_timeout: float | None,
        at: datetime,
    ) -> ResourceGroup:
        group = cls(group_id_for(name))
        group._init_state()
        group._record(
            ResourceGroupCreated,
            at,
            name=name,
            queue_order=str(queue_order),
            agent_selector=str(agent_selector),
            max_attempts=max_attempts,
            pending_timeout=pending_timeout,
        )
        return group

    def change_policy(
        self,
        *,
        queue_order: QueueOrder,
        agent_selector: AgentSelector,
        max_attempts: int,
        pending_timeout: float | None,
        at: datetime,
    ) -> None:
        self._record(
            ResourceGroupPolicyChanged,
            at,
            queue_order=str(queue_order),
            agent_selector=str(agent_selector),
            max_attempts=max_attempts,
            pending_timeout=pending_timeout,
        )

    def join(
        self,
        agent_id: UUID,
        architecture: str,
        capacity: ResourceSlots,
        images: list[str],
        at: datetime,
    ) -> None:
        if self.pool.has_agent(agent_id):
            raise ResourceGroupError(f"agent {agent_id} is already in {self.name}")
        self._record(
            AgentJoined,
            at,
            agent_id=agent_id,
            architecture=architecture,
            capacity=capacity.to_json(),
            images=images,
        )

    def change_capacity(
        self, agent_id: UUID, capacity: ResourceSlots, images: list[str], at: datetime
    ) -> None:
        self._require_agent(agent_id)
        self._record(
            AgentCapacityChanged, at, agent_id=agent_id, capacity=capacity.to_json(), images=images
        )

    def set_schedulable(self, agent_id: UUID, schedulable: bool, reason: str, at: datetime) -> bool:
        self._require_agent(agent_id)
        if self.pool.agent(agent_id).schedulable == schedulable:
            return False
        self._record(
            AgentAvailabilityChanged, at, agent_id=agent_id, schedulable=schedulable, reason=reason
        )
        return True

    def remove(self, agent_id: UUID, reason: str, at: datetime) -> None:
        self._require_agent(agent_id)
        if any(
            a == agent_id for alloc in self.allocations.values() for a, _ in alloc.kernels.values()
        ):
            raise ResourceGroupError(f"agent {agent_id} still holds kernels; release them first")
        self._record(AgentRemoved, at, agent_id=agent_id, reason=reason)

    def can_ever_hold(self, kernels: tuple[ResourceSlots, ...], architecture: str) -> bool:
        return self.pool.can_ever_fit(kernels, architecture)

    def enqueue(self, session: QueuedSession, at: datetime) -> None:
        if session.session_id in self.queue or session.session_id in self.allocations:
            raise ResourceGroupError(f"session {session.session_id} is already in {self.name}")
        self._record(SessionEnqueued, at, session=session)

    def dequeue(self, session_id: UUID, reason: str, at: datetime) -> bool:
        if session_id not in self.queue:
            return False
        self._record(SessionDequeued, at, session_id=session_id, reason=reason)
        return True

    def release(self, session_id: UUID, kernel_id: UUID, reason: str, at: datetime) -> bool:
        allocation = self.allocations.get(session_id)
        if allocation is None or kernel_id not in allocation.kernels:
            return False
        agent_id, _ = allocation.kernels[kernel_id]
        self._record(
            AllocationReleased,
            at,
            session_id=session_id,
            agent_id=agent_id,
            kernel_id=kernel_id,
            reason=reason,
        )
        return True

    def schedule(
        self,
        *,
        now: datetime,
        quotas: QuotaGate,
        dependency: DependencyLookup,
        max_placements: int = 1000,
    ) -> RoundRecord:
        """Decide one round and record it; the caller saves the events with the
        sessions' and agents' in one transaction."""
        policy = RoundPolicy(
            queue_order=self.queue_order,
            agent_selector=self.agent_selector,
            max_attempts=self.max_attempts,
            pending_timeout=(
                timedelta(seconds=self.pending_timeout) if self.pending_timeout else None
            ),
            max_placements=max_placements,
        )
        outcome = decide_round(
            queue=self.queue,
            pool=self.pool,
            policy=policy,
            now=now,
            quotas=quotas,
            dependency=dependency,
            usage_by_user={k[1]: v for k, v in self.usage.items() if k[0] == "user"},
        )
        for session_id, reason in outcome.dropped:
            self._record(SessionDequeued, now, session_id=session_id, reason=reason)
        if outcome.failures:
            self._record(
                SchedulingAttemptsFailed,
                now,
                failures=[
                    SchedulingFailure(
                        session_id=f.session_id,
                        reason=f.reason,
                        attempts=f.attempts,
                        deprioritised=f.deprioritised,
                    )
                    for f in outcome.failures
                ],
            )
        placed: list[PlacedSession] = []
        if outcome.placements:
            for placement in outcome.placements:
                number = self.placement_counts.get(placement.session_id, 0) + 1
                placed.append(
                    PlacedSession(
                        session_id=placement.session_id,
                        kernels=[
                            PlacedKernel(
                                index=k.kernel_index,
                                kernel_id=kernel_id_for(
                                    placement.session_id, number, k.kernel_index
                                ),
                                agent_id=k.agent_id,
                                slots=k.slots.to_json(),
                            )
                            for k in placement.kernels
                        ],
                    )
                )
            self._record(SessionsPlaced, now, placements=placed)
        return RoundRecord(placed, outcome)

    def known_images(self) -> frozenset[str]:
        return self.pool.images()

    def usage_of(self, scope: str, key: str) -> OwnerUsage:
        return self.usage.get((scope, key)) or OwnerUsage()

    def _require_agent(self, agent_id: UUID) -> None:
        if not self.pool.has_agent(agent_id):
            raise ResourceGroupError(f"agent {agent_id} is not in {self.name}")

    # -- state ----------------------------------------------------------------------------

    def _owners(self, session: PendingSession) -> list[OwnerUsage]:
        return [self.usage.setdefault(key, OwnerUsage()) for key in usage_keys(session)]

    def apply(self, event: DomainEvent) -> None:
        match event:
            case ResourceGroupCreated() | ResourceGroupPolicyChanged():
                if isinstance(event, ResourceGroupCreated):
                    self.name = event.name
                self.queue_order = QueueOrder(event.queue_order)
                self.agent_selector = AgentSelector(event.agent_selector)
                self.max_attempts = event.max_attempts
                self.pending_timeout = event.pending_timeout
            case AgentJoined():
                self.pool.add_agent(
                    AgentCapacity(
                        agent_id=event.agent_id,
                        capacity=ResourceSlots.from_json(event.capacity),
                        allocated=ResourceSlots(),
                        architecture=event.architecture,
                        images=frozenset(event.images),
                    )
                )
            case AgentCapacityChanged():
                self.pool.update_capacity(
                    event.agent_id, ResourceSlots.from_json(event.capacity), frozenset(event.images)
                )
            case AgentAvailabilityChanged():
                self.pool.set_schedulable(event.agent_id, event.schedulable)
            case AgentRemoved():
                self.pool.remove_agent(event.agent_id)
            case SessionEnqueued():
                self._apply_enqueued(event)
            case SessionDequeued():
                pending = self.queue.pop(event.session_id)
                for usage in self._owners(pending):
                    usage.pending_sessions -= 1
                    usage.pending_slots = usage.pending_slots - pending.total
            case SchedulingAttemptsFailed():
                for failure in event.failures:
                    pending = self.queue[failure.session_id]
                    pending.attempts = failure.attempts
                    pending.deprioritised = failure.deprioritised
            case SessionsPlaced():
                for placed in event.placements:
                    self._apply_placed(placed)
            case AllocationReleased():
                allocation = self.allocations[event.session_id]
                agent_id, slots = allocation.kernels.pop(event.kernel_id)
                self.pool.release(agent_id, slots)
                owners = self._owners(allocation.session)
                for usage in owners:
                    usage.allocated = usage.allocated - slots
                if not allocation.kernels:
                    del self.allocations[event.session_id]
                    for usage in owners:
                        usage.running_sessions -= 1
            case _:
                raise TypeError(f"ResourceGroup cannot apply {type(event).__name__}")

    def _apply_enqueued(self, event: SessionEnqueued) -> None:
        queued = event.session
        self.arrivals += 1
        pending = PendingSession(
            session_id=queued.session_id,
            kernels=tuple(ResourceSlots.from_json(k) for k in queued.kernels),
            image=queued.image,
            access_key=queued.access_key,
            user_id=queued.user_id,
            project=queued.project,
            domain=queued.domain,
            priority=queued.priority,
            arrival=self.arrivals,
            enqueued_at=event.timestamp,
            architecture=queued.architecture,
            depends_on=tuple(queued.depends_on),
            starts_at=queued.starts_at,
            designated_agent=queued.designated_agent,
        )
        self.queue[queued.session_id] = pending
        for usage in self._owners(pending):
            usage.pending_sessions += 1
            usage.pending_slots = usage.pending_slots + pending.total

    def _apply_placed(self, placed: PlacedSession) -> None:
        pending = self.queue.pop(placed.session_id)
        allocation = Allocation(pending)
        for kernel in placed.kernels:
            slots = ResourceSlots.from_json(kernel.slots)
            allocation.kernels[kernel.kernel_id] = (kernel.agent_id, slots)
            self.pool.charge(kernel.agent_id, slots)
        self.allocations[placed.session_id] = allocation
        self.placement_counts[placed.session_id] = (
            self.placement_counts.get(placed.session_id, 0) + 1
        )
        for usage in self._owners(pending):
            usage.pending_sessions -= 1
            usage.pending_slots = usage.pending_slots - pending.total
            usage.allocated = usage.allocated + pending.total
            usage.running_sessions += 1
