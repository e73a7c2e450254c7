"""Command handlers for tenants: domains, projects, users, keypairs, resource policies.

Like :mod:`services.manager.handlers`: ``(store, command, at) -> CommandReply``,
no NATS inside, a refusal raises ``CommandRefused`` and writes nothing.

Idempotency comes from the deterministic ids: a create command that finds its
aggregate already created *by the same request id* answers ``duplicate``; by
another request, it is refused as existing. A change that is already in effect
(a revoked key revoked again) answers ``duplicate`` and records nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from events import tenant_commands as tc
from events.commands import CommandReply
from services.manager.directory import Directory, Principal
from services.manager.domain.aggregate import Aggregate
from services.manager.domain.identity import (
    Domain,
    Keypair,
    Project,
    TenantStateError,
    User,
    keypair_id_for,
)
from services.manager.domain.policy import PolicyError, ResourcePolicy
from services.manager.handlers import CommandRefused
from services.manager.sealing import ManagerKey
from services.manager.store import EventStore
from services.manager.tenant_access import (
    authenticate,
    check_email,
    check_name,
    check_request_id,
    check_text,
    check_username,
    require_admin_of,
    require_can_grant,
    require_manager_of,
    require_not_self,
    require_superadmin,
)

#: 40 URL-safe characters
SECRET_KEY_BYTES = 30


class _Created(Protocol):
    id: UUID
    request_id: str


def _begin(store: EventStore, cmd: tc.TenantCommand) -> tuple[Directory, Principal]:
    check_request_id(cmd.request_id)
    directory = Directory(store)
    actor = authenticate(directory, cmd.actor)
    if actor.role == "user":
        raise CommandRefused("forbidden", f"{actor.username!r} is not an administrator")
    return directory, actor


def _reply(aggregate_id: UUID, notification_id: int | None, **data: str) -> CommandReply:
    return CommandReply(
        ok=True,
        notification_id=notification_id,
        duplicate=notification_id is None,
        data={"id": str(aggregate_id), **data},
    )


@contextmanager
def _refused_as(code: str) -> Iterator[None]:
    """What an aggregate's state forbids becomes a refusal with ``code``."""
    try:
        yield
    except TenantStateError as exc:
        raise CommandRefused(code, str(exc)) from None


def _save(store: EventStore, aggregate: Aggregate) -> int:
    try:
        recordings = store.save(aggregate)
    except IntegrityError:
        raise CommandRefused("conflict", f"{aggregate.id} changed meanwhile; retry") from None
    return recordings[-1].notification.id


def _save_change(
    store: EventStore, aggregate: Aggregate, changed: bool, **data: str
) -> CommandReply:
    return _reply(aggregate.id, _save(store, aggregate) if changed else None, **data)


def _create(
    store: EventStore,
    new: Aggregate,
    existing: Callable[[], _Created | None],
    request_id: str,
    code: str,
    message: str,
    **data: str,
) -> CommandReply:
    """Save a new aggregate, or answer for the one its deterministic id already names."""
    found = existing()
    if found is None:
        try:
            return _reply(new.id, store.save(new)[-1].notification.id, **data)
        except IntegrityError:
            found = existing()  # created meanwhile: by this very request, or another
    if found is not None and found.request_id == request_id:
        return _reply(found.id, None, **data)
    raise CommandRefused(code, message)


def _policy_must_exist(directory: Directory, name: str) -> None:
    if directory.policy(name) is None:
        raise CommandRefused("policy-not-found", f"resource policy {name!r} does not exist")


def _user(directory: Directory, username: str) -> User:
    user = directory.user(username)
    if user is None:
        raise CommandRefused("user-not-found", f"user {username!r} does not exist")
    return user


def _keypair_and_user(directory: Directory, access_key: str) -> tuple[Keypair, User]:
    keypair = directory.keypair(access_key)
    user = directory.user_by_id(keypair.user_id) if keypair and keypair.user_id else None
    if keypair is None or user is None:
        raise CommandRefused("keypair-not-found", f"keypair {access_key!r} does not exist")
    return keypair, user


def create_domain(store: EventStore, cmd: tc.CreateDomain, at: datetime) -> CommandReply:
    directory, actor = _begin(store, cmd)
    require_superadmin(actor, "create a domain")
    check_name("domain", cmd.name)
    check_text("description", cmd.description)
    domain = Domain.create(
        name=cmd.name, description=cmd.description, request_id=cmd.request_id, at=at
    )
    return _create(
        store,
        domain,
        lambda: directory.domain(cmd.name),
        cmd.request_id,
        "domain-exists",
        f"domain {cmd.name!r} already exists",
        name=cmd.name,
    )


def create_project(store: EventStore, cmd: tc.CreateProject, at: datetime) -> CommandReply:
    directory, actor = _begin(store, cmd)
    require_admin_of(actor, cmd.domain, "create a project")
    check_name("project", cmd.name)
    check_text("description", cmd.description)
    if directory.domain(cmd.domain) is None:
        raise CommandRefused("domain-not-found", f"domain {cmd.domain!r} does not exist")
    _policy_must_exist(directory, cmd.policy)
    project = Project.create(
        name=cmd.name,
        domain=cmd.domain,
        policy=cmd.policy,
        description=cmd.description,
        request_id=cmd.request_id,
        at=at,
    )
    return _create(
        store,
        project,
        lambda: directory.project(cmd.domain, cmd.name),
        cmd.request_id,
        "project-exists",
        f"project {cmd.name!r} already exists in domain {cmd.domain!r}",
        name=cmd.name,
        domain=cmd.domain,
    )


def assign_project_policy(
    store: EventStore, cmd: tc.AssignProjectPolicy, at: datetime
) -> CommandReply:
    directory, actor = _begin(store, cmd)
    require_admin_of(actor, cmd.domain, "assign a project's policy")
    project = directory.project(cmd.domain, cmd.project)
    if project is None:
        raise CommandRefused(
            "project-not-found", f"project {cmd.project!r} does not exist in {cmd.domain!r}"
        )
    _policy_must_exist(directory, cmd.policy)
    changed = project.assign_policy(cmd.policy, at)
    return _save_change(store, project, changed, policy=cmd.policy)


def create_user(store: EventStore, cmd: tc.CreateUser, at: datetime) -> CommandReply:
    directory, actor = _begin(store, cmd)
    require_admin_of(actor, cmd.domain, "create a user")
    role = require_can_grant(actor, cmd.role)
    check_username(cmd.username)
    check_email(cmd.email)
    if directory.domain(cmd.domain) is None:
        raise CommandRefused("domain-not-found", f"domain {cmd.domain!r} does not exist")
    _policy_must_exist(directory, cmd.policy)
    user = User.create(
        username=cmd.username,
        email=cmd.email,
        domain=cmd.domain,
        role=role,
        policy=cmd.policy,
        request_id=cmd.request_id,
        at=at,
    )
    return _create(
        store,
        user,
        lambda: directory.user(cmd.username),
        cmd.request_id,
        "user-exists",
        f"user {cmd.username!r} already exists",
        username=cmd.username,
    )


def add_user_to_project(store: EventStore, cmd: tc.AddUserToProject, at: datetime) -> CommandReply:
    directory, actor = _begin(store, cmd)
    user = _user(directory, cmd.username)
    require_manager_of(actor, user, "add users to projects")
    if directory.project(user.domain, cmd.project) is None:
        raise CommandRefused(
            "project-not-found", f"project {cmd.project!r} does not exist in {user.domain!r}"
        )
    with _refused_as("user-deactivated"):
        changed = user.add_to_project(cmd.project, at)
    return _save_change(store, user, changed, project=cmd.project)


def change_user_role(store: EventStore, cmd: tc.ChangeUserRole, at: datetime) -> CommandReply:
    directory, actor = _begin(store, cmd)
    user = _user(directory, cmd.username)
    require_manager_of(actor, user, "change roles")
    require_not_self(actor, user, "change the role of")
    role = require_can_grant(actor, cmd.role)
    with _refused_as("user-deactivated"):
        changed = user.change_role(role, at)
    return _save_change(store, user, changed, role=role)


def assign_user_policy(store: EventStore, cmd: tc.AssignUserPolicy, at: datetime) -> CommandReply:
    directory, actor = _begin(store, cmd)
    user = _user(directory, cmd.username)
    require_manager_of(actor, user, "assign policies")
    _policy_must_exist(directory, cmd.policy)
    with _refused_as("user-deactivated"):
        changed = user.assign_policy(cmd.policy, at)
    return _save_change(store, user, changed, policy=cmd.policy)


def deactivate_user(store: EventStore, cmd: tc.DeactivateUser, at: datetime) -> CommandReply:
    directory, actor = _begin(store, cmd)
    user = _user(directory, cmd.username)
    require_manager_of(actor, user, "deactivate users")
    require_not_self(actor, user, "deactivate")
    changed = user.deactivate(cmd.reason[:256], at)
    return _save_change(store, user, changed, username=cmd.username)


def issue_keypair(
    store: EventStore, cmd: tc.IssueKeypair, at: datetime, key: ManagerKey
) -> CommandReply:
    """Issue a keypair; the secret key is in this reply and nowhere else in clear.

    A repeated request answers with the same access key but no secret: the
    secret was handed out once, and whoever lost it revokes and issues again.
    """
    directory, actor = _begin(store, cmd)
    user = _user(directory, cmd.username)
    require_manager_of(actor, user, "issue keypairs")
    _policy_must_exist(directory, cmd.policy)
    access_key = key.access_key_for(user.id, cmd.request_id)
    if directory.keypair(access_key) is not None:
        return _reply(keypair_id_for(access_key), None, access_key=access_key)
    secret_key = secrets.token_urlsafe(SECRET_KEY_BYTES)
    with _refused_as("user-deactivated"):
        keypair = Keypair.issue(
            access_key=access_key,
            user=user,
            policy=cmd.policy,
            secret=key.seal(secret_key, access_key=access_key),
            request_id=cmd.request_id,
            at=at,
        )
    try:
        notification_id = store.save(keypair)[-1].notification.id
    except IntegrityError:  # the same request raced with itself: the first one answered
        return _reply(keypair.id, None, access_key=access_key)
    return _reply(keypair.id, notification_id, access_key=access_key, secret_key=secret_key)


def revoke_keypair(store: EventStore, cmd: tc.RevokeKeypair, at: datetime) -> CommandReply:
    directory, actor = _begin(store, cmd)
    keypair, user = _keypair_and_user(directory, cmd.access_key)
    require_manager_of(actor, user, "revoke keypairs")
    changed = keypair.revoke(cmd.reason[:256], at)
    return _save_change(store, keypair, changed, access_key=cmd.access_key)


def assign_keypair_policy(
    store: EventStore, cmd: tc.AssignKeypairPolicy, at: datetime
) -> CommandReply:
    directory, actor = _begin(store, cmd)
    keypair, user = _keypair_and_user(directory, cmd.access_key)
    require_manager_of(actor, user, "assign policies")
    _policy_must_exist(directory, cmd.policy)
    with _refused_as("keypair-revoked"):
        changed = keypair.assign_policy(cmd.policy, at)
    return _save_change(store, keypair, changed, policy=cmd.policy)


def define_policy(store: EventStore, cmd: tc.DefineResourcePolicy, at: datetime) -> CommandReply:
    directory, actor = _begin(store, cmd)
    require_superadmin(actor, "define resource policies")
    check_name("policy", cmd.name)
    try:
        policy = ResourcePolicy.define(
            name=cmd.name, limits=cmd.limits, request_id=cmd.request_id, at=at
        )
    except PolicyError as exc:
        raise CommandRefused("invalid-limits", str(exc)) from None
    return _create(
        store,
        policy,
        lambda: directory.policy(cmd.name),
        cmd.request_id,
        "policy-exists",
        f"resource policy {cmd.name!r} already exists",
        name=cmd.name,
    )


def change_policy(store: EventStore, cmd: tc.ChangeResourcePolicy, at: datetime) -> CommandReply:
    directory, actor = _begin(store, cmd)
    require_superadmin(actor, "change resource policies")
    policy = directory.policy(cmd.name)
    if policy is None:
        raise CommandRefused("policy-not-found", f"resource policy {cmd.name!r} does not exist")
    try:
        changed = policy.change(cmd.limits, at)
    except PolicyError as exc:
        raise CommandRefused("invalid-limits", str(exc)) from None
    return _save_change(store, policy, changed, name=cmd.name)


class Route(NamedTuple):
    """One command the manager answers: its subject name, its type, its handler."""

    name: str
    command_type: type[tc.TenantCommand]
    handler: Callable[[EventStore, Any, datetime], CommandReply]


def routes(key: ManagerKey) -> tuple[Route, ...]:
    """Every tenant command, for the manager's wiring to subscribe to."""
    return (
        Route(tc.CREATE_DOMAIN, tc.CreateDomain, create_domain),
        Route(tc.CREATE_PROJECT, tc.CreateProject, create_project),
        Route(tc.ASSIGN_PROJECT_POLICY, tc.AssignProjectPolicy, assign_project_policy),
        Route(tc.CREATE_USER, tc.CreateUser, create_user),
        Route(tc.ADD_USER_TO_PROJECT, tc.AddUserToProject, add_user_to_project),
        Route(tc.CHANGE_USER_ROLE, tc.ChangeUserRole, change_user_role),
        Route(tc.ASSIGN_USER_POLICY, tc.AssignUserPolicy, assign_user_policy),
        Route(tc.DEACTIVATE_USER, tc.DeactivateUser, deactivate_user),
        Route(tc.ISSUE_KEYPAIR, tc.IssueKeypair, partial(issue_keypair, key=key)),
        Route(tc.REVOKE_KEYPAIR, tc.RevokeKeypair, revoke_keypair),
        Route(tc.ASSIGN_KEYPAIR_POLICY, tc.AssignKeypairPolicy, assign_keypair_policy),
        Route(tc.DEFINE_POLICY, tc.DefineResourcePolicy, define_policy),
        Route(tc.CHANGE_POLICY, tc.ChangeResourcePolicy, change_policy),
    )
