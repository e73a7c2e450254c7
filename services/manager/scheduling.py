"""A scheduling round across resource groups, saved atomically per group.

For each group the ResourceGroup aggregate decides; then each placed session is
marked SCHEDULED and each kernel is assigned on its AgentNode, and the group's,
sessions' and agents' events are saved in ONE transaction. A failed save evicts
everything it touched (see :class:`Aggregates`), so nothing half-decided survives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from events.session import KernelAssignment
from services.manager.context import ManagerContext
from services.manager.domain.agent import AgentNode
from services.manager.domain.aggregate import Aggregate
from services.manager.domain.resource_group import ResourceGroup, RoundRecord
from services.manager.domain.session import Session, SessionStatus
from services.manager.lifecycle import expire_sessions
from services.manager.scheduler.round import DependencyState

#: reasons for leaving the queue that are the session's own fault end in ERROR
_ERROR_DROPS = ("no agent in the resource group can ever hold it",)


@dataclass
class RoundSummary:
    placed: int = 0
    failed: int = 0
    dropped: int = 0
    blocked: bool = False


def dependency_state(ctx: ManagerContext, session_id: UUID) -> DependencyState:
    session = ctx.aggregates.get(Session, session_id)
    if session is None:
        return DependencyState.FAILED
    if session.status is SessionStatus.TERMINATED:
        return DependencyState.SUCCEEDED if session.result == "success" else DependencyState.FAILED
    if session.status in (SessionStatus.ERROR, SessionStatus.CANCELLED):
        return DependencyState.FAILED
    return DependencyState.WAITING


def schedule_group(
    ctx: ManagerContext, group: ResourceGroup, now: datetime, max_placements: int = 1000
) -> RoundSummary:
    if not group.queue:
        return RoundSummary()
    record = group.schedule(
        now=now,
        quotas=ctx.quotas.round_gate(),
        dependency=lambda sid: dependency_state(ctx, sid),
        max_placements=max_placements,
    )
    touched: dict[UUID, Aggregate] = {group.id: group}
    try:
        _apply_round(ctx, record, touched, now)
    except BaseException:
        ctx.aggregates.evict(*touched.values())
        raise
    if len(touched) > 1 or record.outcome.failures:
        ctx.aggregates.save(*touched.values())
    return RoundSummary(
        placed=len(record.placed),
        failed=len(record.outcome.failures),
        dropped=len(record.outcome.dropped),
        blocked=record.outcome.blocked_by is not None,
    )


def _apply_round(
    ctx: ManagerContext, record: RoundRecord, touched: dict[UUID, Aggregate], now: datetime
) -> None:
    for placed in record.placed:
        session = ctx.aggregates.require(Session, placed.session_id)
        spec = session.requested
        session.schedule(
            [
                KernelAssignment(
                    index=k.index, kernel_id=k.kernel_id, agent_id=k.agent_id, slots=k.slots
                )
                for k in placed.kernels
            ],
            now,
        )
        touched[session.id] = session
        for kernel in placed.kernels:
            agent = touched.get(kernel.agent_id) or ctx.aggregates.require(
                AgentNode, kernel.agent_id
            )
            assert isinstance(agent, AgentNode)
            agent.assign_kernel(
                session_id=session.id,
                kernel_id=kernel.kernel_id,
                kernel_index=kernel.index,
                session_type=spec.session_type,
                image=spec.image,
                slots=kernel.slots,
                environ=spec.environ,
                mounts=spec.mounts,
                startup_command=spec.startup_command,
                batch_timeout=spec.batch_timeout,
                at=now,
            )
            touched[agent.id] = agent
    for session_id, reason in record.outcome.dropped:
        session = ctx.aggregates.require(Session, session_id)
        if reason in _ERROR_DROPS:
            session.fail(reason, now)
        else:
            session.cancel(reason, now)
        touched[session.id] = session


def stop_expired_sessions(ctx: ManagerContext, now: datetime) -> int:
    expired = expire_sessions(ctx, now)
    if expired:
        ctx.aggregates.save(*expired.values())
    return len(expired)


def schedule_all(ctx: ManagerContext, now: datetime, max_placements: int = 1000) -> RoundSummary:
    total = RoundSummary()
    for group in list(ctx.groups()):
        summary = schedule_group(ctx, group, now, max_placements)
        total.placed += summary.placed
        total.failed += summary.failed
        total.dropped += summary.dropped
        total.blocked = total.blocked or summary.blocked
    return total
