"""Following agents for ``agentStatus``: their status changes as the ``agents`` model commits.

Status changes come from the notification's event names (``AgentLost``,
``AgentRecovered``...), in order, so two changes projected in one batch are both
reported; the agent itself is read from the read model.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator

import strawberry

from projections import queries as rm
from projections.queries import AgentRow
from services.gateway.errors import not_found
from services.gateway.graphql.context import BerthContext
from services.gateway.graphql.errors import as_graphql
from services.gateway.graphql.session_follow import RECHECK_SECONDS, lagged
from services.gateway.graphql.types import Agent, AgentStatus, AgentStatusChange

AGENT_STATUS_EVENTS = {
    "AgentRegistered": AgentStatus.ALIVE,
    "AgentRecovered": AgentStatus.ALIVE,
    "AgentLost": AgentStatus.LOST,
    "AgentDecommissioned": AgentStatus.DECOMMISSIONED,
}
ALLOCATION_EVENTS = frozenset({"KernelAssigned", "KernelReleased", "AgentUpdated"})


def _agent_now(row: AgentRow) -> AgentStatusChange:
    return AgentStatusChange(
        agent_id=strawberry.ID(row.id),
        event=None,
        version=None,
        status=AgentStatus(row.status),
        agent=Agent.of(row),
    )


def _agent_change(
    agent_id: str, row: AgentRow | None, event: str, version: int | None
) -> AgentStatusChange | None:
    """The change ``event`` made; its status is the event's own when it sets one."""
    status = AGENT_STATUS_EVENTS.get(event) or (AgentStatus(row.status) if row else None)
    if status is None:
        return None  # an allocation change of an agent the read model no longer shows
    return AgentStatusChange(
        agent_id=strawberry.ID(agent_id),
        event=event,
        version=version,
        status=status,
        agent=Agent.of(row) if row else None,
    )


async def one_agent(
    ctx: BerthContext, agent_id: str, allocation: bool
) -> AsyncGenerator[AgentStatusChange, None]:
    """The agent's status now, then each change as it is projected."""
    wanted = set(AGENT_STATUS_EVENTS) | (ALLOCATION_EVENTS if allocation else set())
    async with ctx.feed.listen("agents") as listener:
        row = await ctx.state.read(rm.get_agent, agent_id)
        if row is None:
            raise as_graphql(not_found(f"no agent {agent_id}"))
        last = (row.status, row.updated_at)
        yield _agent_now(row)
        recheck_at = time.monotonic() + RECHECK_SECONDS
        while True:
            batch = await listener.next(max(recheck_at - time.monotonic(), 0.0))
            mine = [c for c in batch.changes if c.aggregate_id == agent_id and c.event in wanted]
            if mine:
                row = await ctx.state.read(rm.get_agent, agent_id)
                for c in mine:
                    if (change := _agent_change(agent_id, row, c.event, c.version)) is not None:
                        yield change
            elif batch.overflowed or time.monotonic() >= recheck_at:
                # A lost or dropped notification must not hide a change for long.
                row = await ctx.state.read(rm.get_agent, agent_id)
                if row is not None and (row.status, row.updated_at) != last:
                    yield _agent_now(row)
            else:
                continue
            if row is not None:
                last = (row.status, row.updated_at)
            recheck_at = time.monotonic() + RECHECK_SECONDS


async def all_agents(
    ctx: BerthContext, allocation: bool
) -> AsyncGenerator[AgentStatusChange, None]:
    """Every agent's status changes from now on."""
    wanted = set(AGENT_STATUS_EVENTS) | (ALLOCATION_EVENTS if allocation else set())
    async with ctx.feed.listen("agents") as listener:
        while True:
            batch = await listener.next()
            if batch.overflowed:
                raise lagged()
            for c in batch.changes:
                if c.kind == "agent" and c.event in wanted:
                    row = await ctx.state.read(rm.get_agent, c.aggregate_id)
                    if (
                        change := _agent_change(c.aggregate_id, row, c.event, c.version)
                    ) is not None:
                        yield change
