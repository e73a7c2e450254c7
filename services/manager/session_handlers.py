"""Session commands: request and destroy. Validate, admit, decide, save — or refuse.

A refusal raises :class:`CommandRefused` with a stable code and writes nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID

import msgspec

from events.commands import CommandReply, DestroySession, RequestSession
from events.resource_group import QueuedSession
from events.session import KernelSpec, Mount
from services.manager.admission import admit_session
from services.manager.context import ManagerContext
from services.manager.domain.agent import AgentNode, agent_id_for
from services.manager.domain.aggregate import Aggregate
from services.manager.domain.resource_group import ResourceGroup, group_id_for
from services.manager.domain.session import (
    FINAL,
    Session,
    SessionStateError,
    SessionStatus,
    session_id_for,
)
from services.manager.handlers import CommandRefused, check_request_id
from services.manager.scheduler.slots import ResourceSlots, SlotError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
IMAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,255}$")
MAX_CLUSTER = 64
MAX_ENV = 256
MAX_ENV_VALUE = 16 * 1024
MAX_MOUNTS = 32
MAX_COMMAND_LEN = 8192
MAX_DEPENDENCIES = 32
MAX_PRIORITY = 100


def _validate_shape(cmd: RequestSession) -> None:
    if not NAME_RE.match(cmd.name):
        raise CommandRefused(
            "invalid-name", "name must be 1-64 letters, digits, '.', '_' or '-', starting alnum"
        )
    if not IMAGE_RE.match(cmd.image):
        raise CommandRefused("invalid-image", f"{cmd.image[:80]!r} is not an image reference")
    if not 1 <= cmd.cluster_size <= MAX_CLUSTER:
        raise CommandRefused("invalid-cluster-size", f"cluster_size must be 1..{MAX_CLUSTER}")
    if cmd.session_type == "batch" and not cmd.startup_command:
        raise CommandRefused("missing-startup-command", "a batch session needs a startup_command")
    if cmd.startup_command is not None and len(cmd.startup_command) > MAX_COMMAND_LEN:
        raise CommandRefused("invalid-startup-command", f"at most {MAX_COMMAND_LEN} characters")
    if cmd.batch_timeout is not None and not 0 < cmd.batch_timeout <= 30 * 86400:
        raise CommandRefused("invalid-batch-timeout", "batch_timeout must be 0 < t <= 30 days")
    if not -MAX_PRIORITY <= cmd.priority <= MAX_PRIORITY:
        raise CommandRefused("invalid-priority", f"priority must be within ±{MAX_PRIORITY}")
    if len(cmd.environ) > MAX_ENV:
        raise CommandRefused("invalid-environ", f"at most {MAX_ENV} environment variables")
    for key, value in cmd.environ.items():
        if not ENV_KEY_RE.match(key) or len(value) > MAX_ENV_VALUE:
            raise CommandRefused("invalid-environ", f"environment variable {key[:64]!r} is invalid")
    if len(cmd.mounts) > MAX_MOUNTS:
        raise CommandRefused("invalid-mounts", f"at most {MAX_MOUNTS} mounts")
    for mount in cmd.mounts:
        if not mount.target.startswith("/") or ".." in mount.target.split("/") or not mount.source:
            raise CommandRefused("invalid-mounts", f"mount target {mount.target!r} is invalid")
    if len(cmd.depends_on) > MAX_DEPENDENCIES:
        raise CommandRefused("invalid-dependencies", f"at most {MAX_DEPENDENCIES} dependencies")


def _dependencies(ctx: ManagerContext, cmd: RequestSession) -> list[UUID]:
    found = []
    for raw in cmd.depends_on:
        try:
            dep_id = UUID(raw)
        except ValueError:
            raise CommandRefused("invalid-dependencies", f"{raw!r} is not a session id") from None
        dep = ctx.aggregates.get(Session, dep_id)
        if dep is None or dep.access_key != cmd.actor:
            raise CommandRefused("unknown-dependency", f"no session {dep_id} of yours")
        found.append(dep_id)
    return found


def request_session(ctx: ManagerContext, cmd: RequestSession, at: datetime) -> CommandReply:
    reply = stage_session_request(ctx, cmd, at)
    recordings = ctx.aggregates.commit()
    if recordings:
        reply = msgspec.structs.replace(reply, notification_id=recordings[-1].notification.id)
    return reply


def stage_session_request(
    ctx: ManagerContext, cmd: RequestSession, at: datetime, *, memory_only: bool = False
) -> CommandReply:
    """Decide a request and stage the result; the caller commits (maybe with others).

    With ``memory_only`` a repeated request is recognised only if its session is
    still in memory; one that is not collides with the stored session at commit,
    and the caller then decides again without it (see ``batching``). That saves a
    store read for every new request.
    """
    check_request_id(cmd.request_id)
    session_id = session_id_for(cmd.actor, cmd.request_id)
    lookup = ctx.aggregates.cached if memory_only else ctx.aggregates.get
    if lookup(Session, session_id) is not None:
        return CommandReply(ok=True, session_id=str(session_id), duplicate=True)
    _validate_shape(cmd)
    try:
        per_kernel = ResourceSlots.parse(cmd.resources)
    except SlotError as exc:
        raise CommandRefused("invalid-resources", str(exc)) from None
    if per_kernel.is_zero():
        raise CommandRefused("invalid-resources", "a session must ask for some resources")
    kernels = tuple(per_kernel for _ in range(cmd.cluster_size))
    total = ResourceSlots.sum(kernels)
    admission = admit_session(
        ctx.directory,
        access_key=cmd.actor,
        project=cmd.project,
        resource_group=cmd.resource_group,
        slots=dict(total),
    )
    group = ctx.aggregates.get(ResourceGroup, group_id_for(cmd.resource_group))
    if group is None:
        raise CommandRefused(
            "unknown-resource-group", f"resource group {cmd.resource_group!r} does not exist"
        )
    designated: UUID | None = None
    if cmd.designated_agent is not None:
        designated = agent_id_for(cmd.designated_agent)
        if not group.pool.has_agent(designated):
            raise CommandRefused(
                "unknown-agent", f"agent {cmd.designated_agent!r} is not in {cmd.resource_group!r}"
            )
    if cmd.image not in group.known_images():
        raise CommandRefused(
            "unknown-image", f"no agent of {cmd.resource_group!r} has image {cmd.image!r}"
        )
    if not group.can_ever_hold(kernels, cmd.architecture):
        raise CommandRefused(
            "unschedulable",
            f"no agent of {cmd.resource_group!r} ({cmd.architecture}) could ever hold "
            f"{cmd.cluster_size} x {per_kernel!r}",
        )
    principal = admission.principal
    ctx.quotas.check_pending(admission.limits, total)
    depends_on = _dependencies(ctx, cmd)
    session = Session.request(
        name=cmd.name,
        session_type=cmd.session_type,
        image=cmd.image,
        architecture=cmd.architecture,
        kernels=[
            KernelSpec(index=i, role="main" if i == 0 else "sub", slots=per_kernel.to_json())
            for i in range(cmd.cluster_size)
        ],
        environ=dict(cmd.environ),
        mounts=[Mount(source=m.source, target=m.target, read_only=m.read_only) for m in cmd.mounts],
        startup_command=cmd.startup_command,
        batch_timeout=cmd.batch_timeout,
        priority=cmd.priority,
        depends_on=depends_on,
        starts_at=cmd.starts_at,
        resource_group=cmd.resource_group,
        designated_agent=designated,
        requeue_on_agent_loss=cmd.requeue_on_agent_loss,
        access_key=cmd.actor,
        user_id=str(principal.user_id),
        project=cmd.project,
        domain=principal.domain,
        request_id=cmd.request_id,
        at=at,
    )
    group.enqueue(queued_from(session), at)
    ctx.aggregates.stage(session, group)
    ctx.wake_scheduler()
    return CommandReply(ok=True, session_id=str(session_id))


def queued_from(session: Session) -> QueuedSession:
    spec = session.requested
    return QueuedSession(
        session_id=session.id,
        kernels=[dict(k.slots) for k in spec.kernels],
        image=spec.image,
        architecture=spec.architecture,
        access_key=spec.access_key,
        user_id=spec.user_id,
        project=spec.project,
        domain=spec.domain,
        priority=spec.priority,
        depends_on=list(spec.depends_on),
        starts_at=spec.starts_at,
        designated_agent=spec.designated_agent,
    )


def destroy_session(ctx: ManagerContext, cmd: DestroySession, at: datetime) -> CommandReply:
    check_request_id(cmd.request_id)
    try:
        session_id = UUID(cmd.session_id)
    except ValueError:
        raise CommandRefused("invalid-session-id", f"{cmd.session_id!r} is not a UUID") from None
    session = ctx.aggregates.get(Session, session_id)
    actor = ctx.directory.resolve(cmd.actor)
    if actor is None:
        raise CommandRefused("unauthenticated", "unknown or revoked access key")
    if session is None or not (
        session.access_key == cmd.actor
        or actor.is_superadmin
        or actor.administers(session.requested.domain)
    ):
        raise CommandRefused("session-not-found", f"no session {session_id} visible to you")
    if session.status in FINAL:
        raise CommandRefused("already-ended", f"session {session_id} is {session.status}")
    was_pending = session.status is SessionStatus.PENDING
    try:
        kernels = session.destroy(cmd.reason[:256], at)
    except SessionStateError as exc:
        raise CommandRefused("invalid-state", str(exc)) from None
    touched: list[Aggregate] = [session]
    if was_pending:
        group = ctx.aggregates.require(
            ResourceGroup, group_id_for(session.requested.resource_group)
        )
        group.dequeue(session_id, cmd.reason[:256], at)
        touched.append(group)
    for kernel in kernels:
        agent = ctx.aggregates.require(AgentNode, kernel.agent_id)
        agent.request_termination(kernel.kernel_id, cmd.reason[:256], at)
        touched.append(agent)
    recordings = ctx.aggregates.save(*touched)
    status = {"status": str(session.status)}
    if not recordings:  # already terminating: asked again, nothing new to decide
        return CommandReply(ok=True, session_id=str(session_id), duplicate=True, data=status)
    return CommandReply(
        ok=True,
        session_id=str(session_id),
        notification_id=recordings[-1].notification.id,
        data=status,
    )
