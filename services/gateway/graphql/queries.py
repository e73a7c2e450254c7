"""The Query root: sessions, agents, usage and history, read from the read models only."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from projections import queries as rm
from services.gateway.errors import not_found
from services.gateway.graphql import described, reads
from services.gateway.graphql.context import BerthContext
from services.gateway.graphql.errors import as_graphql
from services.gateway.graphql.inputs import AgentFilter, SessionFilter, UsageFilter
from services.gateway.graphql.types import (
    MAX_PAGE,
    Agent,
    AgentPage,
    ResourceGroup,
    Session,
    SessionPage,
    Usage,
    Viewer,
)
from services.gateway.graphql.usage import Scope, summarise

BerthInfo = Info[BerthContext, None]


def _first(first: int) -> int:
    return max(1, min(first, MAX_PAGE))


async def visible_session(info: BerthInfo, session_id: str) -> rm.SessionRow:
    """The session, or ``not-found`` when it does not exist or the caller may not see it."""
    ctx = info.context
    row = await ctx.state.read(rm.get_session, session_id, visible_to=ctx.viewer.visibility)
    if row is None:
        raise as_graphql(not_found(f"no session {session_id} visible to you"))
    return row


@strawberry.type
class Query:
    @described.field("Who is asking.")
    def viewer(self, info: BerthInfo) -> Viewer:
        p = info.context.viewer
        return Viewer(
            access_key=p.access_key,
            user_id=p.user_id,
            username=p.username,
            role=p.role,
            domain=p.domain,
            projects=list(p.projects),
        )

    @described.field("Newest first; pass `nextCursor` back as `after`.")
    async def sessions(
        self,
        info: BerthInfo,
        filter: SessionFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> SessionPage:
        ctx = info.context
        f = filter or SessionFilter()
        page = await ctx.state.read(
            rm.list_sessions,
            visible_to=ctx.viewer.visibility,
            statuses=[s.value for s in f.statuses or []] or None,
            project=f.project,
            owner=f.owner,
            name=f.name,
            limit=_first(first),
            cursor=after,
        )
        return SessionPage(items=[Session.of(r) for r in page.items], next_cursor=page.next_cursor)

    @strawberry.field
    async def session(self, info: BerthInfo, id: strawberry.ID) -> Session:
        return Session.of(await visible_session(info, str(id)))

    @described.field("By name; every signed-in caller may list agents.")
    async def agents(
        self,
        info: BerthInfo,
        filter: AgentFilter | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> AgentPage:
        f = filter or AgentFilter()
        info.context.viewer  # noqa: B018  (authenticated callers only)
        page = await info.context.state.read(
            rm.list_agents,
            resource_group=f.resource_group,
            statuses=[s.value for s in f.statuses or []] or None,
            limit=_first(first),
            cursor=after,
        )
        return AgentPage(items=[Agent.of(r) for r in page.items], next_cursor=page.next_cursor)

    @strawberry.field
    async def agent(self, info: BerthInfo, id: strawberry.ID) -> Agent:
        info.context.viewer  # noqa: B018
        row = await info.context.state.read(rm.get_agent, str(id))
        if row is None:
            raise as_graphql(not_found(f"no agent {id}"))
        return Agent.of(row)

    @strawberry.field
    async def resource_groups(self, info: BerthInfo) -> list[ResourceGroup]:
        info.context.viewer  # noqa: B018
        rows = await info.context.state.read(rm.list_resource_groups)
        return [ResourceGroup.of(r) for r in rows]

    @described.field(
        "Slots held now and slot-seconds held in total, summed per `scope` over"
        " the sessions the caller may see."
    )
    async def usage(
        self, info: BerthInfo, scope: Scope, filter: UsageFilter | None = None
    ) -> list[Usage]:
        ctx = info.context
        columns = (filter or UsageFilter()).columns()
        rows = await ctx.state.read(reads.usage_rows, ctx.viewer.visibility, columns)
        return [Usage.of(scope, s) for s in summarise(rows, scope)]
