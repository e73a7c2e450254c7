"""``/v1/images``, ``/v1/agents``, ``/v1/resource-groups``: the cluster as users see it, and
the resource groups superadmins shape."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query

from events import commands as cmd
from projections import queries
from services.gateway.commands import request_id, send
from services.gateway.deps import Caller, State, Superadmin
from services.gateway.errors import not_found
from services.gateway.schemas.cluster import (
    AgentOut,
    AgentPage,
    ImageList,
    ImageOut,
    ResourceGroupChange,
    ResourceGroupCreate,
    ResourceGroupList,
    ResourceGroupOut,
)
from services.gateway.schemas.common import CommandDone

router = APIRouter(prefix="/v1", tags=["cluster"])


@router.get("/images", response_model=ImageList)
async def list_images(state: State, caller: Caller) -> ImageList:
    rows = await state.read(queries.list_images)
    return ImageList(items=[ImageOut(**dataclasses.asdict(r)) for r in rows])


@router.get("/agents", response_model=AgentPage)
async def list_agents(
    state: State,
    caller: Caller,
    resource_group: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[
        str | None, Query(max_length=100, description="comma-separated: ALIVE,LOST,DECOMMISSIONED")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AgentPage:
    statuses = [s.strip() for s in status.split(",") if s.strip()] if status else None
    page = await state.read(
        queries.list_agents,
        resource_group=resource_group,
        statuses=statuses,
        limit=limit,
        cursor=cursor,
    )
    return AgentPage(
        items=[AgentOut(**dataclasses.asdict(a)) for a in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/agents/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: str, state: State, caller: Caller) -> AgentOut:
    row = await state.read(queries.get_agent, agent_id)
    if row is None:
        raise not_found(f"no agent {agent_id}")
    return AgentOut(**dataclasses.asdict(row))


@router.get("/resource-groups", response_model=ResourceGroupList)
async def list_resource_groups(state: State, caller: Caller) -> ResourceGroupList:
    rows = await state.read(queries.list_resource_groups)
    return ResourceGroupList(items=[ResourceGroupOut(**dataclasses.asdict(r)) for r in rows])


@router.get("/resource-groups/{name}", response_model=ResourceGroupOut)
async def get_resource_group(name: str, state: State, caller: Caller) -> ResourceGroupOut:
    row = await state.read(queries.get_resource_group, name)
    if row is None:
        raise not_found(f"no resource group {name!r}")
    return ResourceGroupOut(**dataclasses.asdict(row))


@router.post("/resource-groups", status_code=201, response_model=CommandDone)
async def create_resource_group(
    body: ResourceGroupCreate, state: State, caller: Superadmin
) -> CommandDone:
    command = cmd.CreateResourceGroup(
        request_id=request_id(body.request_id),
        actor=caller.access_key,
        name=body.name,
        queue_order=body.queue_order.value,
        agent_selector=body.agent_selector.value,
        max_attempts=body.max_attempts,
        pending_timeout=body.pending_timeout,
    )
    reply = await send(state.manager, cmd.CREATE_RESOURCE_GROUP, command)
    return CommandDone(data=reply.data or {"name": body.name}, duplicate=reply.duplicate)


@router.patch("/resource-groups/{name}", response_model=CommandDone)
async def change_resource_group(
    name: str, body: ResourceGroupChange, state: State, caller: Superadmin
) -> CommandDone:
    """Changes the group's scheduling policy; fields left out keep their current value."""
    current = await state.read(queries.get_resource_group, name)
    if current is None:
        raise not_found(f"no resource group {name!r}")
    given = body.model_fields_set
    command = cmd.ChangeResourceGroup(
        request_id=request_id(body.request_id),
        actor=caller.access_key,
        name=name,
        queue_order=body.queue_order.value if body.queue_order else current.queue_order,
        agent_selector=(
            body.agent_selector.value if body.agent_selector else current.agent_selector
        ),
        max_attempts=body.max_attempts if body.max_attempts else current.max_attempts,
        pending_timeout=(
            body.pending_timeout if "pending_timeout" in given else current.pending_timeout
        ),
    )
    reply = await send(state.manager, cmd.CHANGE_RESOURCE_GROUP, command)
    return CommandDone(data=reply.data or {"name": name}, duplicate=reply.duplicate)
