"""Bodies of ``/v1/admin``: domains, projects, users, keypairs, resource policies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from events.tenant import Role
from events.tenant_commands import DEFAULT_POLICY
from services.gateway.schemas.common import Body, request_id_field


class DomainCreate(Body):
    name: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=512)
    request_id: str | None = request_id_field()


class DomainOut(BaseModel):
    name: str
    description: str
    created_at: str


class DomainList(BaseModel):
    items: list[DomainOut]


class ProjectCreate(Body):
    name: str = Field(min_length=1, max_length=64)
    #: the caller's own domain when left out
    domain: str | None = Field(default=None, min_length=1, max_length=64)
    policy: str = Field(default=DEFAULT_POLICY, min_length=1, max_length=64)
    description: str = Field(default="", max_length=512)
    request_id: str | None = request_id_field()


class ProjectOut(BaseModel):
    domain: str
    name: str
    policy: str
    description: str
    created_at: str
    updated_at: str


class ProjectList(BaseModel):
    items: list[ProjectOut]


class UserCreate(Body):
    username: str = Field(min_length=1, max_length=128)
    #: the caller's own domain when left out
    domain: str | None = Field(default=None, min_length=1, max_length=64)
    email: str = Field(default="", max_length=256)
    role: Role = "user"
    policy: str = Field(default=DEFAULT_POLICY, min_length=1, max_length=64)
    request_id: str | None = request_id_field()


class UserChange(Body):
    """Each field given is one change, applied in this order: role, policy, active."""

    role: Role | None = None
    policy: str | None = Field(default=None, min_length=1, max_length=64)
    #: only ``false`` (deactivate) is possible; a deactivated user stays so
    active: bool | None = None


class UserProjectAdd(Body):
    project: str = Field(min_length=1, max_length=64)


class UserOut(BaseModel):
    id: str
    username: str
    email: str
    domain: str
    role: str
    policy: str
    active: bool
    status_reason: str
    projects: list[str]
    created_at: str
    updated_at: str


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class UserChanged(BaseModel):
    username: str
    #: what changed, by field (``role``, ``policy``, ``active``); a change already in
    #: effect is not listed
    changed: list[str]


class KeypairCreate(Body):
    username: str = Field(min_length=1, max_length=128)
    policy: str = Field(default=DEFAULT_POLICY, min_length=1, max_length=64)
    request_id: str | None = request_id_field()


class KeypairIssued(BaseModel):
    access_key: str
    #: given once, here; absent when a repeated request found the keypair it made before
    secret_key: str | None
    duplicate: bool = False


class KeypairOut(BaseModel):
    access_key: str
    user_id: str
    username: str
    domain: str
    policy: str
    active: bool
    status_reason: str
    created_at: str
    updated_at: str


class KeypairPage(BaseModel):
    items: list[KeypairOut]
    next_cursor: str | None


class Limits(Body):
    """A resource policy's limits; a limit left out is unlimited."""

    total_resource_slots: dict[str, str | int | float] = Field(default_factory=dict)
    max_concurrent_sessions: int | None = Field(default=None, ge=0)
    max_pending_sessions: int | None = Field(default=None, ge=0)
    max_pending_slots: dict[str, str | int | float] = Field(default_factory=dict)
    max_session_lifetime: int | None = Field(default=None, ge=0)
    idle_timeout: int | None = Field(default=None, ge=0)
    allowed_resource_groups: list[str] = Field(default_factory=list)


class PolicyCreate(Body):
    name: str = Field(min_length=1, max_length=64)
    limits: Limits = Field(default_factory=Limits)
    request_id: str | None = request_id_field()


class PolicyChange(Body):
    """Replaces every limit: a limit left out becomes unlimited."""

    limits: Limits
    request_id: str | None = request_id_field()


class PolicyOut(BaseModel):
    name: str
    limits: dict[str, Any]
    created_at: str
    updated_at: str


class PolicyList(BaseModel):
    items: list[PolicyOut]
