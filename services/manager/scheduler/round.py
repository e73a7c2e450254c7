"""One scheduling round: which pending sessions go where, decided without side effects.

Rules (what users of Slurm and Backend.AI expect):

- The queue is visited in the group's order (FIFO, LIFO, DRF, priority bands).
- A session that cannot run *for a reason of its own* (a quota or concurrency
  limit, an unfinished dependency, a start time in the future) is skipped and
  never blocks the sessions behind it. Quota refusals count as failed attempts;
  after ``max_attempts`` the session is deprioritised.
- A session that does not fit *for lack of capacity* blocks everything behind it
  (strict head-of-line blocking), so large sessions are not starved by small ones.
- A session that no agent of the group could ever hold, or whose dependency
  failed, or that waited longer than the pending timeout, leaves the queue.
- Placements are all-or-nothing per session and never over-commit an agent: the
  pool is charged as the round goes, and uncharged at the end so that the
  recorded event applies the same charges exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from services.manager.scheduler.agent_selection import AgentPool, AgentSelector
from services.manager.scheduler.model import KernelPlacement, OwnerUsage, PendingSession, Placement
from services.manager.scheduler.queue_order import QueueOrder, order_queue
from services.manager.scheduler.slots import ResourceSlots


class DependencyState(StrEnum):
    SUCCEEDED = "succeeded"
    WAITING = "waiting"
    FAILED = "failed"


class QuotaGate(Protocol):
    """Quotas and concurrency across resource groups, charged as the round places sessions."""

    def refusal(self, session: PendingSession) -> str | None: ...

    def charge(self, session: PendingSession) -> None: ...


@dataclass(frozen=True)
class RoundPolicy:
    queue_order: QueueOrder
    agent_selector: AgentSelector
    max_attempts: int
    pending_timeout: timedelta | None
    max_placements: int = 1000


@dataclass(frozen=True)
class Failure:
    session_id: UUID
    reason: str
    attempts: int
    deprioritised: bool


@dataclass
class RoundOutcome:
    placements: list[Placement] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: sessions leaving the queue unplaced, with the reason
    dropped: list[tuple[UUID, str]] = field(default_factory=list)
    blocked_by: UUID | None = None

    @property
    def decided_anything(self) -> bool:
        return bool(self.placements or self.failures or self.dropped)


def decide_round(
    *,
    queue: Mapping[UUID, PendingSession],
    pool: AgentPool,
    policy: RoundPolicy,
    now: datetime,
    quotas: QuotaGate,
    dependency: Callable[[UUID], DependencyState],
    usage_by_user: Mapping[str, OwnerUsage],
) -> RoundOutcome:
    outcome = RoundOutcome()
    ordered = order_queue(policy.queue_order, list(queue.values()), usage_by_user, pool.total())
    charged: list[KernelPlacement] = []
    try:
        for session in ordered:
            if len(outcome.placements) >= policy.max_placements:
                break
            if policy.pending_timeout is not None and now - session.enqueued_at > (
                policy.pending_timeout
            ):
                outcome.dropped.append((session.session_id, "pending timeout"))
                continue
            if session.starts_at is not None and session.starts_at > now:
                continue
            waiting = False
            failed_dependency: UUID | None = None
            for dep in session.depends_on:
                state = dependency(dep)
                if state is DependencyState.FAILED:
                    failed_dependency = dep
                    break
                if state is DependencyState.WAITING:
                    waiting = True
            if failed_dependency is not None:
                outcome.dropped.append(
                    (session.session_id, f"dependency {failed_dependency} did not succeed")
                )
                continue
            if waiting:
                continue
            if not pool.can_ever_fit(session.kernels, session.architecture):
                outcome.dropped.append(
                    (session.session_id, "no agent in the resource group can ever hold it")
                )
                continue
            refusal = quotas.refusal(session)
            if refusal is not None:
                if not session.deprioritised:
                    attempts = session.attempts + 1
                    outcome.failures.append(
                        Failure(
                            session.session_id,
                            refusal,
                            attempts,
                            deprioritised=attempts >= policy.max_attempts,
                        )
                    )
                continue
            if outcome.blocked_by is not None:
                continue  # behind a session waiting for capacity: strict head-of-line
            kernels = pool.place(
                session.kernels,
                selector=policy.agent_selector,
                architecture=session.architecture,
                image=session.image,
                designated_agent=session.designated_agent,
            )
            if kernels is None:
                outcome.blocked_by = session.session_id
                continue
            pool.allocate(kernels)
            charged.extend(kernels)
            quotas.charge(session)
            outcome.placements.append(Placement(session.session_id, kernels))
    finally:
        for kernel in charged:
            pool.release(kernel.agent_id, kernel.slots)
    return outcome


def kernel_slots_total(placement: Placement) -> ResourceSlots:
    return ResourceSlots.sum(k.slots for k in placement.kernels)
