"""Commands that manage tenants: domains, projects, users, keypairs, resource policies.

Each names its ``actor``: the access key of whoever asks. The gateway proves the
caller holds that key; the manager decides whether the actor's role allows the
command (a superadmin anything, a domain admin within their own domain, a user
none of these).
"""

from __future__ import annotations

import msgspec

from events.base import Command
from events.tenant import PolicyLimits, Role

DEFAULT_POLICY = "default"

CREATE_DOMAIN = "tenant.domain.create"
CREATE_PROJECT = "tenant.project.create"
ASSIGN_PROJECT_POLICY = "tenant.project.assign-policy"
CREATE_USER = "tenant.user.create"
ADD_USER_TO_PROJECT = "tenant.user.add-to-project"
CHANGE_USER_ROLE = "tenant.user.change-role"
ASSIGN_USER_POLICY = "tenant.user.assign-policy"
DEACTIVATE_USER = "tenant.user.deactivate"
ISSUE_KEYPAIR = "tenant.keypair.issue"
REVOKE_KEYPAIR = "tenant.keypair.revoke"
ASSIGN_KEYPAIR_POLICY = "tenant.keypair.assign-policy"
DEFINE_POLICY = "tenant.policy.define"
CHANGE_POLICY = "tenant.policy.change"


class TenantCommand(Command, frozen=True, kw_only=True):
    #: the access key of the caller, whose role decides
    actor: str


class CreateDomain(TenantCommand, frozen=True, kw_only=True):
    name: str
    description: str = ""


class CreateProject(TenantCommand, frozen=True, kw_only=True):
    domain: str
    name: str
    policy: str = DEFAULT_POLICY
    description: str = ""


class AssignProjectPolicy(TenantCommand, frozen=True, kw_only=True):
    domain: str
    project: str
    policy: str


class CreateUser(TenantCommand, frozen=True, kw_only=True):
    domain: str
    #: unique across Berth; an e-mail address is a fine username
    username: str
    email: str = ""
    role: Role = "user"
    policy: str = DEFAULT_POLICY


class AddUserToProject(TenantCommand, frozen=True, kw_only=True):
    username: str
    #: a project of the user's own domain
    project: str


class ChangeUserRole(TenantCommand, frozen=True, kw_only=True):
    username: str
    role: Role


class AssignUserPolicy(TenantCommand, frozen=True, kw_only=True):
    username: str
    policy: str


class DeactivateUser(TenantCommand, frozen=True, kw_only=True):
    username: str
    reason: str = "deactivated by an administrator"


class IssueKeypair(TenantCommand, frozen=True, kw_only=True):
    username: str
    policy: str = DEFAULT_POLICY


class RevokeKeypair(TenantCommand, frozen=True, kw_only=True):
    access_key: str
    reason: str = "revoked by an administrator"


class AssignKeypairPolicy(TenantCommand, frozen=True, kw_only=True):
    access_key: str
    policy: str


class DefineResourcePolicy(TenantCommand, frozen=True, kw_only=True):
    name: str
    limits: PolicyLimits = msgspec.field(default_factory=PolicyLimits)


class ChangeResourcePolicy(TenantCommand, frozen=True, kw_only=True):
    """Replaces all of the policy's limits: a limit left out becomes unlimited."""

    name: str
    limits: PolicyLimits
