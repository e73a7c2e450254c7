"""``/v1/admin``: domains, projects, users, keypairs and resource policies.

Only administrators reach these routes; which tenants each may manage (a
domain admin their own domain, a superadmin everything) the manager decides
again for every command, and the listings show each admin only their domain.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

import msgspec
from fastapi import APIRouter, Query

from events import tenant_commands as tc
from projections import queries
from services.gateway.commands import request_id, send
from services.gateway.deps import Admin, State
from services.gateway.errors import ApiError, not_found
from services.gateway.routes.limits import policy_limits
from services.gateway.schemas.admin import (
    DomainCreate,
    DomainList,
    DomainOut,
    KeypairCreate,
    KeypairIssued,
    KeypairOut,
    KeypairPage,
    PolicyChange,
    PolicyCreate,
    PolicyList,
    PolicyOut,
    ProjectCreate,
    ProjectList,
    ProjectOut,
    UserChange,
    UserChanged,
    UserCreate,
    UserOut,
    UserPage,
    UserProjectAdd,
)
from services.gateway.schemas.common import CommandDone
from services.gateway.state import GatewayState

router = APIRouter(prefix="/v1/admin", tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=512)]
NameFilter = Annotated[str | None, Query(max_length=128)]


async def _command(state: GatewayState, name: str, command: msgspec.Struct) -> CommandDone:
    reply = await send(state.manager, name, command)
    return CommandDone(data=reply.data or {}, duplicate=reply.duplicate)


@router.get("/domains", response_model=DomainList)
async def list_domains(state: State, caller: Admin) -> DomainList:
    rows = await state.read(queries.list_domains, visible_to=caller.visibility)
    return DomainList(items=[DomainOut(**dataclasses.asdict(r)) for r in rows])


@router.post("/domains", status_code=201, response_model=CommandDone)
async def create_domain(body: DomainCreate, state: State, caller: Admin) -> CommandDone:
    command = tc.CreateDomain(
        request_id=request_id(body.request_id),
        actor=caller.access_key,
        name=body.name,
        description=body.description,
    )
    return await _command(state, tc.CREATE_DOMAIN, command)


@router.get("/projects", response_model=ProjectList)
async def list_projects(state: State, caller: Admin, domain: NameFilter = None) -> ProjectList:
    rows = await state.read(queries.list_projects, visible_to=caller.visibility, domain=domain)
    return ProjectList(items=[ProjectOut(**dataclasses.asdict(r)) for r in rows])


@router.post("/projects", status_code=201, response_model=CommandDone)
async def create_project(body: ProjectCreate, state: State, caller: Admin) -> CommandDone:
    command = tc.CreateProject(
        request_id=request_id(body.request_id),
        actor=caller.access_key,
        domain=body.domain or caller.domain,
        name=body.name,
        policy=body.policy,
        description=body.description,
    )
    return await _command(state, tc.CREATE_PROJECT, command)


@router.get("/users", response_model=UserPage)
async def list_users(
    state: State,
    caller: Admin,
    domain: NameFilter = None,
    project: NameFilter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> UserPage:
    page = await state.read(
        queries.list_users,
        visible_to=caller.visibility,
        domain=domain,
        project=project,
        limit=limit,
        cursor=cursor,
    )
    return UserPage(
        items=[UserOut(**dataclasses.asdict(u)) for u in page.items], next_cursor=page.next_cursor
    )


@router.get("/users/{username}", response_model=UserOut)
async def get_user(username: str, state: State, caller: Admin) -> UserOut:
    row = await state.read(queries.get_user, username, visible_to=caller.visibility)
    if row is None:
        raise not_found(f"no user {username!r} visible to you")
    return UserOut(**dataclasses.asdict(row))


@router.post("/users", status_code=201, response_model=CommandDone)
async def create_user(body: UserCreate, state: State, caller: Admin) -> CommandDone:
    command = tc.CreateUser(
        request_id=request_id(body.request_id),
        actor=caller.access_key,
        domain=body.domain or caller.domain,
        username=body.username,
        email=body.email,
        role=body.role,
        policy=body.policy,
    )
    return await _command(state, tc.CREATE_USER, command)


@router.post("/users/{username}/projects", response_model=CommandDone)
async def add_user_to_project(
    username: str, body: UserProjectAdd, state: State, caller: Admin
) -> CommandDone:
    command = tc.AddUserToProject(
        request_id=request_id(None),
        actor=caller.access_key,
        username=username,
        project=body.project,
    )
    return await _command(state, tc.ADD_USER_TO_PROJECT, command)


async def _change(
    state: GatewayState, name: str, command: msgspec.Struct, what: str, changed: list[str]
) -> None:
    reply = await send(state.manager, name, command)
    if not reply.duplicate:
        changed.append(what)


@router.patch("/users/{username}", response_model=UserChanged)
async def change_user(username: str, body: UserChange, state: State, caller: Admin) -> UserChanged:
    """One command per field given, in order; a refusal stops there (earlier changes stay)."""
    if body.active is True:
        raise ApiError(400, "bad-request", "a deactivated user cannot be reactivated")
    changed: list[str] = []
    actor = caller.access_key
    if body.role is not None:
        role = tc.ChangeUserRole(
            request_id=request_id(None), actor=actor, username=username, role=body.role
        )
        await _change(state, tc.CHANGE_USER_ROLE, role, "role", changed)
    if body.policy is not None:
        policy = tc.AssignUserPolicy(
            request_id=request_id(None), actor=actor, username=username, policy=body.policy
        )
        await _change(state, tc.ASSIGN_USER_POLICY, policy, "policy", changed)
    if body.active is False:
        deactivate = tc.DeactivateUser(
            request_id=request_id(None),
            actor=actor,
            username=username,
            reason=f"deactivated by {caller.username}",
        )
        await _change(state, tc.DEACTIVATE_USER, deactivate, "active", changed)
    return UserChanged(username=username, changed=changed)


@router.get("/keypairs", response_model=KeypairPage)
async def list_keypairs(
    state: State,
    caller: Admin,
    username: NameFilter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> KeypairPage:
    page = await state.read(
        queries.list_keypairs,
        visible_to=caller.visibility,
        username=username,
        limit=limit,
        cursor=cursor,
    )
    return KeypairPage(
        items=[KeypairOut(**dataclasses.asdict(k)) for k in page.items],
        next_cursor=page.next_cursor,
    )


@router.post("/keypairs", status_code=201, response_model=KeypairIssued)
async def issue_keypair(body: KeypairCreate, state: State, caller: Admin) -> KeypairIssued:
    """The secret key is in this answer once and nowhere else."""
    command = tc.IssueKeypair(
        request_id=request_id(body.request_id),
        actor=caller.access_key,
        username=body.username,
        policy=body.policy,
    )
    reply = await send(state.manager, tc.ISSUE_KEYPAIR, command)
    data = reply.data or {}
    return KeypairIssued(
        access_key=data.get("access_key", ""),
        secret_key=data.get("secret_key"),
        duplicate=reply.duplicate,
    )


@router.delete("/keypairs/{access_key}", response_model=CommandDone)
async def revoke_keypair(access_key: str, state: State, caller: Admin) -> CommandDone:
    command = tc.RevokeKeypair(
        request_id=request_id(None),
        actor=caller.access_key,
        access_key=access_key,
        reason=f"revoked by {caller.username}",
    )
    done = await _command(state, tc.REVOKE_KEYPAIR, command)
    state.forget_keypair(access_key)  # refused here at once, not after the cache's time
    return done


@router.get("/policies", response_model=PolicyList)
async def list_policies(state: State, caller: Admin) -> PolicyList:
    rows = await state.read(queries.list_policies)
    return PolicyList(items=[PolicyOut(**dataclasses.asdict(p)) for p in rows])


@router.post("/policies", status_code=201, response_model=CommandDone)
async def define_policy(body: PolicyCreate, state: State, caller: Admin) -> CommandDone:
    command = tc.DefineResourcePolicy(
        request_id=request_id(body.request_id),
        actor=caller.access_key,
        name=body.name,
        limits=policy_limits(body.limits),
    )
    return await _command(state, tc.DEFINE_POLICY, command)


@router.put("/policies/{name}", response_model=CommandDone)
async def change_policy(name: str, body: PolicyChange, state: State, caller: Admin) -> CommandDone:
    command = tc.ChangeResourcePolicy(
        request_id=request_id(body.request_id),
        actor=caller.access_key,
        name=name,
        limits=policy_limits(body.limits),
    )
    return await _command(state, tc.CHANGE_POLICY, command)
