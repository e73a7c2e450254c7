"""Events of the tenant aggregates: who may use Berth, and how much of it.

Five aggregate kinds share this module because they form one directory:
``domain`` (a tenant), ``project`` (a group inside a domain that sessions are
accounted to), ``user`` (a person with a role), ``keypair`` (the credential a
user signs requests with) and ``rpolicy`` (a named resource policy that is
assigned to keypairs, users and projects).

A keypair's secret never appears in clear: the event log is exported and
streamed, so :class:`KeypairIssued` carries it sealed (AES-GCM under the
manager's key); only the manager can unseal it.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

import msgspec

from events.base import DomainEvent

Role = Literal["superadmin", "domain_admin", "user"]
ROLES: tuple[Role, ...] = ("superadmin", "domain_admin", "user")


class PolicyLimits(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """What a resource policy allows. ``None`` (or a missing slot) means unlimited.

    Slot amounts are decimal strings (``"4"``, ``"17179869184"``, ``"0.5"``), so
    they survive JSON exactly.
    """

    #: slot name -> most that may be allocated at once
    total_resource_slots: dict[str, str] = msgspec.field(default_factory=dict)
    max_concurrent_sessions: int | None = None
    max_pending_sessions: int | None = None
    #: slot name -> most that may wait in queues at once
    max_pending_slots: dict[str, str] = msgspec.field(default_factory=dict)
    #: seconds from start until a session is terminated
    max_session_lifetime: int | None = None
    #: seconds of inactivity until an interactive session is terminated
    idle_timeout: int | None = None
    #: resource group names; empty means every group
    allowed_resource_groups: list[str] = msgspec.field(default_factory=list)


class SealedSecret(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An AES-GCM ciphertext and what is needed to open it (except the key)."""

    #: which manager key sealed it (a fingerprint, not the key)
    key_id: str
    nonce: bytes
    ciphertext: bytes


class _DomainAggregateEvent(DomainEvent, frozen=True, kw_only=True):
    kind: ClassVar[str] = "domain"


class DomainCreated(_DomainAggregateEvent, frozen=True, kw_only=True):
    name: str
    description: str = ""
    request_id: str


class _ProjectEvent(DomainEvent, frozen=True, kw_only=True):
    kind: ClassVar[str] = "project"


class ProjectCreated(_ProjectEvent, frozen=True, kw_only=True):
    name: str
    domain: str
    policy: str
    description: str = ""
    request_id: str


class ProjectPolicyAssigned(_ProjectEvent, frozen=True, kw_only=True):
    policy: str


class _UserEvent(DomainEvent, frozen=True, kw_only=True):
    kind: ClassVar[str] = "user"


class UserCreated(_UserEvent, frozen=True, kw_only=True):
    username: str
    email: str = ""
    domain: str
    role: Role
    policy: str
    request_id: str


class UserRoleChanged(_UserEvent, frozen=True, kw_only=True):
    role: Role


class UserAddedToProject(_UserEvent, frozen=True, kw_only=True):
    project: str


class UserPolicyAssigned(_UserEvent, frozen=True, kw_only=True):
    policy: str


class UserDeactivated(_UserEvent, frozen=True, kw_only=True):
    reason: str


class _KeypairEvent(DomainEvent, frozen=True, kw_only=True):
    kind: ClassVar[str] = "keypair"


class KeypairIssued(_KeypairEvent, frozen=True, kw_only=True):
    access_key: str
    user_id: UUID
    username: str
    policy: str
    secret: SealedSecret
    request_id: str


class KeypairRevoked(_KeypairEvent, frozen=True, kw_only=True):
    reason: str


class KeypairPolicyAssigned(_KeypairEvent, frozen=True, kw_only=True):
    policy: str


class _PolicyEvent(DomainEvent, frozen=True, kw_only=True):
    kind: ClassVar[str] = "rpolicy"


class ResourcePolicyDefined(_PolicyEvent, frozen=True, kw_only=True):
    name: str
    limits: PolicyLimits
    request_id: str


class ResourcePolicyChanged(_PolicyEvent, frozen=True, kw_only=True):
    """The policy's complete new limits (not a patch), so replay needs no merging."""

    limits: PolicyLimits
