"""Administrative mutations: resource groups and tenants (domains, projects, users,
keypairs, resource policies), the same commands as the REST API's admin routes.

The manager checks the caller's role for each (a superadmin anything, a domain
admin within their domain); a refusal comes back with the manager's code.
"""

from __future__ import annotations

from enum import Enum

import msgspec
import strawberry
from strawberry.scalars import JSON

from events import commands as cmd
from events import tenant_commands as tc
from events.request_ids import new_request_id
from events.tenant import PolicyLimits
from services.gateway.graphql import described
from services.gateway.graphql.errors import check_reply
from services.gateway.graphql.inputs import PolicyLimitsInput, ResourceGroupInput
from services.gateway.graphql.mutations import slots_from
from services.gateway.graphql.queries import BerthInfo


@strawberry.enum
class UserRole(Enum):
    SUPERADMIN = "superadmin"
    DOMAIN_ADMIN = "domain_admin"
    USER = "user"


@strawberry.type(description="The manager's answer to an administrative command.")
class CommandResult:
    id: str | None = strawberry.field(description="What the command created or changed.")
    duplicate: bool
    notification_id: int | None
    data: JSON | None = strawberry.field(description="Anything else the manager answered.")


@strawberry.type(description="A new keypair; the secret key is shown here once and never again.")
class IssuedKeypair:
    id: str
    access_key: str
    secret_key: str | None = strawberry.field(
        description="Null when the same request was answered before: revoke and issue again."
    )


def _limits(limits: PolicyLimitsInput) -> PolicyLimits:
    return PolicyLimits(
        total_resource_slots=slots_from(limits.total_resource_slots),
        max_concurrent_sessions=limits.max_concurrent_sessions,
        max_pending_sessions=limits.max_pending_sessions,
        max_pending_slots=slots_from(limits.max_pending_slots),
        max_session_lifetime=limits.max_session_lifetime,
        idle_timeout=limits.idle_timeout,
        allowed_resource_groups=list(limits.allowed_resource_groups),
    )


async def _send(info: BerthInfo, subject: str, command: msgspec.Struct) -> CommandResult:
    manager = info.context.state.manager
    reply = check_reply(await manager.send(subject, command))
    data = dict(reply.data or {})
    return CommandResult(
        id=data.pop("id", None) or reply.session_id,
        duplicate=reply.duplicate,
        notification_id=reply.notification_id,
        data=JSON(data) if data else None,
    )


@strawberry.type
class AdminMutation:
    @described.mutation("Superadmin.")
    async def create_resource_group(
        self, info: BerthInfo, input: ResourceGroupInput
    ) -> CommandResult:
        return await _resource_group(
            info, cmd.CREATE_RESOURCE_GROUP, cmd.CreateResourceGroup, input
        )

    @described.mutation("Superadmin: the group's queue order and agent selection.")
    async def change_resource_group(
        self, info: BerthInfo, input: ResourceGroupInput
    ) -> CommandResult:
        return await _resource_group(
            info, cmd.CHANGE_RESOURCE_GROUP, cmd.ChangeResourceGroup, input
        )

    @strawberry.mutation
    async def create_domain(
        self, info: BerthInfo, name: str, description: str = ""
    ) -> CommandResult:
        return await _tenant(
            info, tc.CREATE_DOMAIN, tc.CreateDomain, name=name, description=description
        )

    @strawberry.mutation
    async def create_project(
        self,
        info: BerthInfo,
        domain: str,
        name: str,
        policy: str = tc.DEFAULT_POLICY,
        description: str = "",
    ) -> CommandResult:
        return await _tenant(
            info,
            tc.CREATE_PROJECT,
            tc.CreateProject,
            domain=domain,
            name=name,
            policy=policy,
            description=description,
        )

    @strawberry.mutation
    async def assign_project_policy(
        self, info: BerthInfo, domain: str, project: str, policy: str
    ) -> CommandResult:
        return await _tenant(
            info,
            tc.ASSIGN_PROJECT_POLICY,
            tc.AssignProjectPolicy,
            domain=domain,
            project=project,
            policy=policy,
        )

    @strawberry.mutation
    async def create_user(
        self,
        info: BerthInfo,
        domain: str,
        username: str,
        email: str = "",
        role: UserRole = UserRole.USER,
        policy: str = tc.DEFAULT_POLICY,
    ) -> CommandResult:
        return await _tenant(
            info,
            tc.CREATE_USER,
            tc.CreateUser,
            domain=domain,
            username=username,
            email=email,
            role=role.value,
            policy=policy,
        )

    @strawberry.mutation
    async def add_user_to_project(
        self, info: BerthInfo, username: str, project: str
    ) -> CommandResult:
        return await _tenant(
            info, tc.ADD_USER_TO_PROJECT, tc.AddUserToProject, username=username, project=project
        )

    @strawberry.mutation
    async def change_user_role(
        self, info: BerthInfo, username: str, role: UserRole
    ) -> CommandResult:
        return await _tenant(
            info, tc.CHANGE_USER_ROLE, tc.ChangeUserRole, username=username, role=role.value
        )

    @strawberry.mutation
    async def assign_user_policy(
        self, info: BerthInfo, username: str, policy: str
    ) -> CommandResult:
        return await _tenant(
            info, tc.ASSIGN_USER_POLICY, tc.AssignUserPolicy, username=username, policy=policy
        )

    @strawberry.mutation
    async def deactivate_user(
        self, info: BerthInfo, username: str, reason: str = "deactivated by an administrator"
    ) -> CommandResult:
        return await _tenant(
            info, tc.DEACTIVATE_USER, tc.DeactivateUser, username=username, reason=reason
        )

    @described.mutation("The secret key is in this answer and nowhere else.")
    async def issue_keypair(
        self, info: BerthInfo, username: str, policy: str = tc.DEFAULT_POLICY
    ) -> IssuedKeypair:
        result = await _tenant(
            info, tc.ISSUE_KEYPAIR, tc.IssueKeypair, username=username, policy=policy
        )
        data: dict[str, str] = result.data if isinstance(result.data, dict) else {}
        return IssuedKeypair(
            id=result.id or "",
            access_key=str(data.get("access_key", "")),
            secret_key=data.get("secret_key"),
        )

    @strawberry.mutation
    async def revoke_keypair(
        self, info: BerthInfo, access_key: str, reason: str = "revoked by an administrator"
    ) -> CommandResult:
        result = await _tenant(
            info, tc.REVOKE_KEYPAIR, tc.RevokeKeypair, access_key=access_key, reason=reason
        )
        info.context.state.forget_keypair(access_key)  # refused at once, not after the cache's time
        return result

    @strawberry.mutation
    async def assign_keypair_policy(
        self, info: BerthInfo, access_key: str, policy: str
    ) -> CommandResult:
        return await _tenant(
            info,
            tc.ASSIGN_KEYPAIR_POLICY,
            tc.AssignKeypairPolicy,
            access_key=access_key,
            policy=policy,
        )

    @strawberry.mutation
    async def define_resource_policy(
        self, info: BerthInfo, name: str, limits: PolicyLimitsInput
    ) -> CommandResult:
        return await _tenant(
            info, tc.DEFINE_POLICY, tc.DefineResourcePolicy, name=name, limits=_limits(limits)
        )

    @described.mutation("Replaces every limit: a limit left out becomes unlimited.")
    async def change_resource_policy(
        self, info: BerthInfo, name: str, limits: PolicyLimitsInput
    ) -> CommandResult:
        return await _tenant(
            info, tc.CHANGE_POLICY, tc.ChangeResourcePolicy, name=name, limits=_limits(limits)
        )


async def _tenant(
    info: BerthInfo, subject: str, command: type[tc.TenantCommand], /, **fields: object
) -> CommandResult:
    actor = info.context.viewer.access_key
    return await _send(info, subject, command(request_id=new_request_id(), actor=actor, **fields))


async def _resource_group(
    info: BerthInfo,
    subject: str,
    command: type[cmd.CreateResourceGroup] | type[cmd.ChangeResourceGroup],
    input: ResourceGroupInput,
) -> CommandResult:
    group = command(
        request_id=new_request_id(),
        actor=info.context.viewer.access_key,
        name=input.name,
        queue_order=input.queue_order,
        agent_selector=input.agent_selector,
        max_attempts=input.max_attempts,
        pending_timeout=input.pending_timeout,
    )
    return await _send(info, subject, group)
