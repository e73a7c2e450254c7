"""Domains, projects, users and keypairs: who may use Berth.

Every aggregate here has a deterministic id derived from its natural key (a
domain's name, a project's domain and name, a user's username, a keypair's
access key), so creating one that exists collides in the store instead of
making a twin, and the directory finds any of them with one read by id.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import ClassVar
from uuid import UUID, uuid5

from events.base import DomainEvent
from events.tenant import (
    ROLES,
    DomainCreated,
    KeypairIssued,
    KeypairPolicyAssigned,
    KeypairRevoked,
    ProjectCreated,
    ProjectPolicyAssigned,
    Role,
    SealedSecret,
    UserAddedToProject,
    UserCreated,
    UserDeactivated,
    UserPolicyAssigned,
    UserRoleChanged,
)
from services.manager.domain.aggregate import Aggregate

DOMAIN_NAMESPACE = UUID("3b0e6d5a-1c7f-4e2b-8a64-0f5d9c1b7e23")
PROJECT_NAMESPACE = UUID("9a4c2f18-5d3e-4b71-a0c6-7e8f1d2b3c54")
USER_NAMESPACE = UUID("c7d1e3f5-2a4b-4c6d-8e0f-1a3b5c7d9e65")
KEYPAIR_NAMESPACE = UUID("5e8a1b3c-7d9f-4a2e-b6c8-0d1f3a5b7c76")


class TenantStateError(Exception):
    """A command that the aggregate's current state does not allow."""


@lru_cache(maxsize=4096)
def domain_id_for(name: str) -> UUID:
    return uuid5(DOMAIN_NAMESPACE, name)


@lru_cache(maxsize=4096)
def project_id_for(domain: str, name: str) -> UUID:
    return uuid5(PROJECT_NAMESPACE, f"{domain}/{name}")


@lru_cache(maxsize=4096)
def user_id_for(username: str) -> UUID:
    return uuid5(USER_NAMESPACE, username)


@lru_cache(maxsize=4096)
def keypair_id_for(access_key: str) -> UUID:
    return uuid5(KEYPAIR_NAMESPACE, access_key)


class Domain(Aggregate):
    kind: ClassVar[str] = "domain"

    """A tenant: the boundary of a domain administrator's authority."""

    def _init_state(self) -> None:
        self.name = ""
        self.description = ""
        self.request_id = ""

    @classmethod
    def create(cls, *, name: str, description: str, request_id: str, at: datetime) -> Domain:
        domain = cls(domain_id_for(name))
        domain._init_state()
        domain._record(DomainCreated, at, name=name, description=description, request_id=request_id)
        return domain

    def apply(self, event: DomainEvent) -> None:
        match event:
            case DomainCreated():
                self.name = event.name
                self.description = event.description
                self.request_id = event.request_id
            case _:
                raise TypeError(f"Domain cannot apply {type(event).__name__}")


class Project(Aggregate):
    kind: ClassVar[str] = "project"

    """A group of users inside a domain; sessions are accounted to a project."""

    def _init_state(self) -> None:
        self.name = ""
        self.domain = ""
        self.policy = ""
        self.description = ""
        self.request_id = ""

    @classmethod
    def create(
        cls,
        *,
        name: str,
        domain: str,
        policy: str,
        description: str,
        request_id: str,
        at: datetime,
    ) -> Project:
        project = cls(project_id_for(domain, name))
        project._init_state()
        project._record(
            ProjectCreated,
            at,
            name=name,
            domain=domain,
            policy=policy,
            description=description,
            request_id=request_id,
        )
        return project

    def assign_policy(self, policy: str, at: datetime) -> bool:
        if policy == self.policy:
            return False
        self._record(ProjectPolicyAssigned, at, policy=policy)
        return True

    def apply(self, event: DomainEvent) -> None:
        match event:
            case ProjectCreated():
                self.name = event.name
                self.domain = event.domain
                self.policy = event.policy
                self.description = event.description
                self.request_id = event.request_id
            case ProjectPolicyAssigned():
                self.policy = event.policy
            case _:
                raise TypeError(f"Project cannot apply {type(event).__name__}")


def _check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise TenantStateError(f"unknown role {role!r}; one of {', '.join(ROLES)}")


class User(Aggregate):
    kind: ClassVar[str] = "user"

    """A person in one domain, with one role, member of some of its projects.

    Membership lives here rather than on the project, so that resolving a
    request's keypair to everything it may do takes two reads, not a scan.
    """

    def _init_state(self) -> None:
        self.username = ""
        self.email = ""
        self.domain = ""
        self.role: Role = "user"
        self.policy = ""
        self.projects: list[str] = []
        self.active = True
        self.request_id = ""

    @classmethod
    def create(
        cls,
        *,
        username: str,
        email: str,
        domain: str,
        role: str,
        policy: str,
        request_id: str,
        at: datetime,
    ) -> User:
        checked = _check_role(role)
        user = cls(user_id_for(username))
        user._init_state()
        user._record(
            UserCreated,
            at,
            username=username,
            email=email,
            domain=domain,
            role=checked,
            policy=policy,
            request_id=request_id,
        )
        return user

    def _require_active(self) -> None:
        if not self.active:
            raise TenantStateError(f"user {self.username!r} is deactivated")

    def change_role(self, role: str, at: datetime) -> bool:
        checked = _check_role(role)
        self._require_active()
        if checked == self.role:
            return False
        self._record(UserRoleChanged, at, role=checked)
        return True

    def add_to_project(self, project: str, at: datetime) -> bool:
        self._require_active()
        if project in self.projects:
            return False
        self._record(UserAddedToProject, at, project=project)
        return True

    def assign_policy(self, policy: str, at: datetime) -> bool:
        self._require_active()
        if policy == self.policy:
            return False
        self._record(UserPolicyAssigned, at, policy=policy)
        return True

    def deactivate(self, reason: str, at: datetime) -> bool:
        if not self.active:
            return False
        self._record(UserDeactivated, at, reason=reason)
        return True

    def apply(self, event: DomainEvent) -> None:
        match event:
            case UserCreated():
                self.username = event.username
                self.email = event.email
                self.domain = event.domain
                self.role = event.role
                self.policy = event.policy
                self.request_id = event.request_id
            case UserRoleChanged():
                self.role = event.role
            case UserAddedToProject():
                self.projects.append(event.project)
            case UserPolicyAssigned():
                self.policy = event.policy
            case UserDeactivated():
                self.active = False
            case _:
                raise TypeError(f"User cannot apply {type(event).__name__}")


class Keypair(Aggregate):
    kind: ClassVar[str] = "keypair"

    """An access key and its sealed secret key, signing one user's requests."""

    def _init_state(self) -> None:
        self.access_key = ""
        self.user_id: UUID | None = None
        self.username = ""
        self.policy = ""
        self.secret: SealedSecret | None = None
        self.active = True
        self.request_id = ""

    @classmethod
    def issue(
        cls,
        *,
        access_key: str,
        user: User,
        policy: str,
        secret: SealedSecret,
        request_id: str,
        at: datetime,
    ) -> Keypair:
        if not user.active:
            raise TenantStateError(f"user {user.username!r} is deactivated")
        keypair = cls(keypair_id_for(access_key))
        keypair._init_state()
        keypair._record(
            KeypairIssued,
            at,
            access_key=access_key,
            user_id=user.id,
            username=user.username,
            policy=policy,
            secret=secret,
            request_id=request_id,
        )
        return keypair

    def revoke(self, reason: str, at: datetime) -> bool:
        if not self.active:
            return False
        self._record(KeypairRevoked, at, reason=reason)
        return True

    def assign_policy(self, policy: str, at: datetime) -> bool:
        if not self.active:
            raise TenantStateError(f"keypair {self.access_key} is revoked")
        if policy == self.policy:
            return False
        self._record(KeypairPolicyAssigned, at, policy=policy)
        return True

    def apply(self, event: DomainEvent) -> None:
        match event:
            case KeypairIssued():
                self.access_key = event.access_key
                self.user_id = event.user_id
                self.username = event.username
                self.policy = event.policy
                self.secret = event.secret
                self.request_id = event.request_id
            case KeypairRevoked():
                self.active = False
            case KeypairPolicyAssigned():
                self.policy = event.policy
            case _:
                raise TypeError(f"Keypair cannot apply {type(event).__name__}")
