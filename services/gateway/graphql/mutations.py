"""Mutations about sessions: ``createSession`` and ``destroySession``, as the caller.

Every command carries the caller's access key as its actor; the manager decides
whether that actor may do it, so a refusal (with the manager's own code) comes
back as a GraphQL error with ``extensions.code``, and nothing is written.
"""

from __future__ import annotations

import strawberry

from events import commands as cmd
from events.request_ids import new_request_id
from projections import queries as rm
from services.gateway.graphql import described
from services.gateway.graphql.catchup import caught_up
from services.gateway.graphql.errors import check_reply
from services.gateway.graphql.inputs import CreateSessionInput, ResourceSlotInput
from services.gateway.graphql.queries import BerthInfo
from services.gateway.graphql.types import Session


@strawberry.type(description="The manager's answer to a command about a session.")
class SessionCommandResult:
    session_id: strawberry.ID
    duplicate: bool = strawberry.field(description="The same request was decided before.")
    notification_id: int | None

    @described.field(
        "The session as the read model shows it once it includes this decision"
        " (waits a few seconds at most; it may then still show an earlier state)."
    )
    async def session(self, info: BerthInfo) -> Session | None:
        ctx = info.context
        if self.notification_id is not None:
            await caught_up(ctx, "sessions", self.notification_id)
        row = await ctx.state.read(
            rm.get_session, str(self.session_id), visible_to=ctx.viewer.visibility
        )
        return Session.of(row) if row else None


def slots_from(items: list[ResourceSlotInput]) -> dict[str, str]:
    return {item.slot: item.amount for item in items}


def _session_result(reply: cmd.CommandReply) -> SessionCommandResult:
    return SessionCommandResult(
        session_id=strawberry.ID(reply.session_id or ""),
        duplicate=reply.duplicate,
        notification_id=reply.notification_id,
    )


@strawberry.type
class SessionMutation:
    @described.mutation("Ask for a session; answered once the decision is stored.")
    async def create_session(
        self, info: BerthInfo, input: CreateSessionInput
    ) -> SessionCommandResult:
        actor = info.context.viewer.access_key
        command = cmd.RequestSession(
            request_id=input.request_id or new_request_id(),
            actor=actor,
            project=input.project,
            name=input.name,
            session_type=input.session_type.value,
            image=input.image,
            resources=dict(slots_from(input.resources)),
            cluster_size=input.cluster_size,
            environ={e.name: e.value for e in input.environ},
            mounts=[
                cmd.MountRequest(source=m.source, target=m.target, read_only=m.read_only)
                for m in input.mounts
            ],
            startup_command=input.startup_command,
            batch_timeout=input.batch_timeout,
            priority=input.priority,
            depends_on=[str(d) for d in input.depends_on],
            starts_at=input.starts_at,
            resource_group=input.resource_group,
            designated_agent=input.designated_agent,
            requeue_on_agent_loss=input.requeue_on_agent_loss,
        )
        manager = info.context.state.manager
        reply = await manager.send(cmd.REQUEST_SESSION, command)
        return _session_result(check_reply(reply))

    @described.mutation("Stop a session (its owner, or an admin of its domain).")
    async def destroy_session(
        self, info: BerthInfo, id: strawberry.ID, reason: str = "destroyed by its owner"
    ) -> SessionCommandResult:
        actor = info.context.viewer.access_key
        manager = info.context.state.manager
        reply = await manager.destroy_session(str(id), actor=actor, reason=reason)
        return _session_result(check_reply(reply))
