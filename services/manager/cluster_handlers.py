"""Commands about the cluster itself: resource groups and agent registration."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from events.commands import ChangeResourceGroup, CommandReply, CreateResourceGroup, RegisterAgent
from services.manager.context import ManagerContext
from services.manager.domain.agent import AgentNode, agent_id_for
from services.manager.domain.resource_group import ResourceGroup, group_id_for
from services.manager.handlers import CommandRefused, check_request_id
from services.manager.scheduler.agent_selection import AgentSelector
from services.manager.scheduler.queue_order import QueueOrder
from services.manager.scheduler.slots import ResourceSlots, SlotError

E = TypeVar("E", bound=StrEnum)

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ARCHITECTURES = frozenset({"x86_64", "aarch64", "ppc64le", "s390x"})
MAX_IMAGES = 4096


def _one_of(choices: type[E], value: str, field: str) -> E:
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(c.value for c in choices)
        raise CommandRefused(
            f"invalid-{field.replace('_', '-')}", f"{field} must be one of {allowed}"
        ) from None


def _policy(
    queue_order: str, agent_selector: str, max_attempts: int, pending_timeout: float | None
) -> tuple[QueueOrder, AgentSelector]:
    order = _one_of(QueueOrder, queue_order, "queue_order")
    selector = _one_of(AgentSelector, agent_selector, "agent_selector")
    if not 1 <= max_attempts <= 1000:
        raise CommandRefused("invalid-max-attempts", "max_attempts must be 1..1000")
    if pending_timeout is not None and not 0 < pending_timeout <= 365 * 86400:
        raise CommandRefused("invalid-pending-timeout", "pending_timeout must be 0 < t <= 1 year")
    return order, selector


def _require_superadmin(ctx: ManagerContext, actor: str) -> None:
    principal = ctx.directory.resolve(actor)
    if principal is None:
        raise CommandRefused("unauthenticated", "unknown or revoked access key")
    if not principal.is_superadmin:
        raise CommandRefused("forbidden", "only a superadmin manages resource groups")


def create_resource_group(
    ctx: ManagerContext, cmd: CreateResourceGroup, at: datetime
) -> CommandReply:
    check_request_id(cmd.request_id)
    _require_superadmin(ctx, cmd.actor)
    if not NAME_RE.match(cmd.name):
        raise CommandRefused("invalid-name", "a resource group name is 1-64 of [a-z0-9._-]")
    order, selector = _policy(
        cmd.queue_order, cmd.agent_selector, cmd.max_attempts, cmd.pending_timeout
    )
    if ctx.aggregates.get(ResourceGroup, group_id_for(cmd.name)) is not None:
        raise CommandRefused("resource-group-exists", f"resource group {cmd.name!r} exists")
    group = ResourceGroup.create(
        name=cmd.name,
        queue_order=order,
        agent_selector=selector,
        max_attempts=cmd.max_attempts,
        pending_timeout=cmd.pending_timeout,
        at=at,
    )
    recordings = ctx.aggregates.save(group)
    ctx.group_ids.add(group.id)
    return CommandReply(ok=True, notification_id=recordings[-1].notification.id)


def change_resource_group(
    ctx: ManagerContext, cmd: ChangeResourceGroup, at: datetime
) -> CommandReply:
    check_request_id(cmd.request_id)
    _require_superadmin(ctx, cmd.actor)
    order, selector = _policy(
        cmd.queue_order, cmd.agent_selector, cmd.max_attempts, cmd.pending_timeout
    )
    group = ctx.aggregates.get(ResourceGroup, group_id_for(cmd.name))
    if group is None:
        raise CommandRefused(
            "unknown-resource-group", f"resource group {cmd.name!r} does not exist"
        )
    group.change_policy(
        queue_order=order,
        agent_selector=selector,
        max_attempts=cmd.max_attempts,
        pending_timeout=cmd.pending_timeout,
        at=at,
    )
    recordings = ctx.aggregates.save(group)
    ctx.wake_scheduler()
    return CommandReply(ok=True, notification_id=recordings[-1].notification.id)


def register_agent(ctx: ManagerContext, cmd: RegisterAgent, at: datetime) -> CommandReply:
    """Join (or re-join) an agent; an agent that was lost and registers again recovers."""
    check_request_id(cmd.request_id)
    if not NAME_RE.match(cmd.name):
        raise CommandRefused("invalid-name", "an agent name is 1-64 of [a-z0-9._-]")
    if cmd.architecture not in ARCHITECTURES:
        raise CommandRefused("invalid-architecture", f"unknown architecture {cmd.architecture!r}")
    if len(cmd.images) > MAX_IMAGES:
        raise CommandRefused("invalid-images", f"at most {MAX_IMAGES} images")
    try:
        capacity = ResourceSlots.parse(cmd.capacity)
    except SlotError as exc:
        raise CommandRefused("invalid-capacity", str(exc)) from None
    group = ctx.aggregates.get(ResourceGroup, group_id_for(cmd.resource_group))
    if group is None:
        raise CommandRefused(
            "unknown-resource-group", f"resource group {cmd.resource_group!r} does not exist"
        )
    agent_id = agent_id_for(cmd.name)
    agent = ctx.aggregates.get(AgentNode, agent_id)
    images = sorted(set(cmd.images))
    if agent is None:
        agent = AgentNode.register(
            name=cmd.name,
            resource_group=cmd.resource_group,
            architecture=cmd.architecture,
            capacity=capacity.to_json(),
            images=images,
            version=cmd.version,
            simulated=cmd.simulated,
            at=at,
        )
        group.join(agent_id, cmd.architecture, capacity, images, at)
    else:
        if agent.resource_group != cmd.resource_group:
            raise CommandRefused(
                "agent-in-other-group",
                f"agent {cmd.name!r} belongs to {agent.resource_group!r}; decommission it first",
            )
        if agent.update(capacity.to_json(), images, cmd.version, at):
            group.change_capacity(agent_id, capacity, images, at)
        if agent.mark_recovered(at):
            group.set_schedulable(agent_id, True, "agent registered again", at)
    recordings = ctx.aggregates.save(agent, group)
    ctx.agent_seen(agent_id)
    ctx.wake_scheduler()
    return CommandReply(
        ok=True,
        notification_id=recordings[-1].notification.id if recordings else None,
        data={"agent_id": str(agent_id)},
    )
