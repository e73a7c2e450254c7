"""What the manager decides when agents report: kernel observations and lost agents.

Each function changes aggregates in memory and returns them; the caller saves
them in one transaction (with the fact stream's position, for observations).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from events.facts import AnyFact, KernelCreated, KernelExited, KernelFailed, KernelStarted
from services.manager.context import ManagerContext
from services.manager.directory import DirectoryLookupError
from services.manager.domain.agent import AgentNode
from services.manager.domain.aggregate import Aggregate
from services.manager.domain.resource_group import ResourceGroup, group_id_for
from services.manager.domain.session import Kernel, KernelState, Session, SessionStatus
from services.manager.session_handlers import queued_from

Touched = dict[UUID, Aggregate]


def _agent(ctx: ManagerContext, touched: Touched, agent_id: UUID) -> AgentNode | None:
    found = touched.get(agent_id)
    if isinstance(found, AgentNode):
        return found
    agent = ctx.aggregates.get(AgentNode, agent_id)
    if agent is not None:
        touched[agent_id] = agent
    return agent


def _group(ctx: ManagerContext, touched: Touched, name: str) -> ResourceGroup:
    group_id = group_id_for(name)
    found = touched.get(group_id)
    if isinstance(found, ResourceGroup):
        return found
    group = ctx.aggregates.require(ResourceGroup, group_id)
    touched[group_id] = group
    return group


def _stop(
    ctx: ManagerContext, touched: Touched, kernels: list[Kernel], reason: str, at: datetime
) -> None:
    for kernel in kernels:
        agent = _agent(ctx, touched, kernel.agent_id)
        if agent is not None:
            agent.request_termination(kernel.kernel_id, reason, at)


def _release(
    ctx: ManagerContext,
    touched: Touched,
    session: Session,
    kernel: Kernel,
    reason: str,
    at: datetime,
) -> None:
    agent = _agent(ctx, touched, kernel.agent_id)
    if agent is not None:
        agent.release_kernel(kernel.kernel_id, reason, at)
    group = _group(ctx, touched, session.requested.resource_group)
    group.release(session.id, kernel.kernel_id, reason, at)
    ctx.wake_scheduler()


def observe(ctx: ManagerContext, fact: AnyFact, touched: Touched, at: datetime) -> None:
    """Ingest one fact. Facts about kernels the manager no longer expects are ignored."""
    found = touched.get(fact.session_id) or ctx.aggregates.get(Session, fact.session_id)
    if not isinstance(found, Session):
        return
    session = found
    kernel = session.kernels.get(fact.kernel_id)
    if kernel is None or kernel.agent_id != fact.agent_id:
        return
    touched[session.id] = session
    match fact:
        case KernelCreated():
            session.observe(fact.kernel_id, KernelState.CREATED, None, "", at)
        case KernelStarted():
            session.observe(fact.kernel_id, KernelState.STARTED, None, "", at)
        case KernelExited() | KernelFailed():
            if isinstance(fact, KernelExited):
                state, code, detail = KernelState.EXITED, fact.exit_code, fact.detail
            else:
                state, code, detail = KernelState.FAILED, None, fact.reason
            others = session.observe(fact.kernel_id, state, code, detail, at)
            _release(ctx, touched, session, kernel, detail or str(state), at)
            _stop(ctx, touched, others, f"session {session.status.value.lower()}", at)


def agent_lost(ctx: ManagerContext, agent_id: UUID, reason: str, at: datetime) -> Touched:
    """Resolve everything the lost agent held and release its capacity."""
    touched: Touched = {}
    agent = _agent(ctx, touched, agent_id)
    if agent is None or not agent.mark_lost(reason, at):
        return {}
    group = _group(ctx, touched, agent.resource_group)
    group.set_schedulable(agent_id, False, reason, at)
    by_session: dict[UUID, list[UUID]] = {}
    for kernel in agent.kernels.values():
        by_session.setdefault(kernel.session_id, []).append(kernel.kernel_id)
    for session_id, kernel_ids in by_session.items():
        for kernel_id in kernel_ids:
            agent.release_kernel(kernel_id, reason, at)
            group.release(session_id, kernel_id, reason, at)
        found = touched.get(session_id) or ctx.aggregates.get(Session, session_id)
        if not isinstance(found, Session):
            continue
        session = found
        touched[session.id] = session
        requeued, others = session.agent_lost(agent_id, at)
        _stop(ctx, touched, others, f"agent {agent.name} was lost", at)
        if requeued:
            _group(ctx, touched, session.requested.resource_group).enqueue(queued_from(session), at)
    ctx.wake_scheduler()
    return touched


def agent_recovered(ctx: ManagerContext, agent_id: UUID, at: datetime) -> Touched:
    touched: Touched = {}
    agent = _agent(ctx, touched, agent_id)
    if agent is None or not agent.mark_recovered(at):
        return {}
    _group(ctx, touched, agent.resource_group).set_schedulable(
        agent_id, True, "heartbeat resumed", at
    )
    ctx.wake_scheduler()
    return touched


def expire_sessions(ctx: ManagerContext, at: datetime) -> Touched:
    """Stop sessions that ran longer than their owner's ``max_session_lifetime``."""
    touched: Touched = {}
    limits: dict[tuple[str, str], int | None] = {}
    for group in list(ctx.groups()):
        for session_id, allocation in list(group.allocations.items()):
            owner = allocation.session
            key = (owner.access_key, owner.project)
            if key not in limits:
                principal = ctx.directory.resolve(owner.access_key)
                try:
                    found = ctx.directory.limits(principal, owner.project) if principal else None
                except DirectoryLookupError:
                    found = None
                limits[key] = found.max_session_lifetime if found else None
            lifetime = limits[key]
            if lifetime is None:
                continue
            session = ctx.aggregates.get(Session, session_id)
            if (
                session is None
                or session.status is not SessionStatus.RUNNING
                or session.running_since is None
                or (at - session.running_since).total_seconds() <= lifetime
            ):
                continue
            reason = f"max session lifetime of {lifetime}s reached"
            kernels = session.destroy(reason, at)
            touched[session.id] = session
            _stop(ctx, touched, kernels, reason, at)
    return touched
