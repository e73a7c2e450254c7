"""The Subscription root: session status, agent status and the live event log.

``sessionStatus`` and ``agentStatus`` are pushed when a projection runner commits
(its notification on ``berth.rm.<model>``, see :mod:`.feed`) and report what the
read model holds at that moment (:mod:`.session_follow`, :mod:`.agent_follow`).

``eventTail`` is the log itself: it follows ``BERTH_EVENTS`` with an ordered
push consumer filtered by subject on the server (:mod:`.event_tail`), so each
event arrives as soon as the relay has stored it on the stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

import strawberry

from services.gateway.errors import ApiError, forbidden
from services.gateway.graphql import described
from services.gateway.graphql.access import tail_scope
from services.gateway.graphql.agent_follow import all_agents, one_agent
from services.gateway.graphql.errors import as_graphql, bad_input
from services.gateway.graphql.event_tail import TailError, follow_events, tail_subject
from services.gateway.graphql.inputs import EventFilter, SessionFilter
from services.gateway.graphql.queries import BerthInfo
from services.gateway.graphql.session_follow import matching_sessions, one_session, visible_owner
from services.gateway.graphql.types import AgentStatusChange, SessionStatusChange, StreamEvent


@strawberry.type
class Subscription:
    @described.subscription(
        "Status changes, each in order. With `id`: that session's statuses"
        " (all of them first when `replay`), ending with its final status. Without: every"
        " change from now on of the visible sessions `filter` matches."
    )
    async def session_status(
        self,
        info: BerthInfo,
        id: strawberry.ID | None = None,
        filter: SessionFilter | None = None,
        replay: bool = True,
    ) -> AsyncGenerator[SessionStatusChange, None]:
        ctx = info.context
        ctx.viewer  # noqa: B018  (authenticated callers only)
        if id is not None and filter is not None:
            raise bad_input("give a session id or a filter, not both")
        changes = (
            one_session(ctx, str(id), replay)
            if id is not None
            else matching_sessions(ctx, filter or SessionFilter())
        )
        async with contextlib.aclosing(changes):
            async for change in changes:
                yield change

    @described.subscription(
        "An agent's status as it changes (with `id`, its current status first);"
        " with `includeAllocation`, also when kernels are assigned to it or released."
    )
    async def agent_status(
        self, info: BerthInfo, id: strawberry.ID | None = None, include_allocation: bool = False
    ) -> AsyncGenerator[AgentStatusChange, None]:
        info.context.viewer  # noqa: B018
        changes = (
            one_agent(info.context, str(id), include_allocation)
            if id is not None
            else all_agents(info.context, include_allocation)
        )
        async with contextlib.aclosing(changes):
            async for change in changes:
                yield change

    @described.subscription(
        "Events as they are stored on the stream; `last` replays that many"
        " matching events first. Anyone but a superadmin names one visible session by"
        " `filter.aggregateId`."
    )
    async def event_tail(
        self, info: BerthInfo, filter: EventFilter | None = None, last: int = 0
    ) -> AsyncGenerator[StreamEvent, None]:
        ctx = info.context
        f = filter or EventFilter()
        aggregate_id = str(f.aggregate_id) if f.aggregate_id is not None else None
        kind = f.kind
        refusal: ApiError | None = tail_scope(ctx.viewer, aggregate_id, kind)
        if refusal is None and not ctx.viewer.is_superadmin:
            assert aggregate_id is not None
            if await visible_owner(ctx, aggregate_id) is None:
                refusal = forbidden(f"no session {aggregate_id} visible to you")
            kind = "session"
        if refusal is not None:
            raise as_graphql(refusal)
        try:
            subject = tail_subject(kind, aggregate_id, f.event_type)
        except TailError as exc:
            raise bad_input(str(exc)) from None
        events = follow_events(ctx.state.nc, subject, max(last, 0))
        async with contextlib.aclosing(events):
            async for event in events:
                yield event
