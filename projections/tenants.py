"""``TenantView``: domains, projects, users, keypairs and resource policies, as admins list them.

One table per tenant kind. Keypairs are listed without their secrets (the
events carry them sealed; the read model keeps nothing of them). A keypair row
also names its user's domain, so a domain admin's listing is one filter.
"""

from __future__ import annotations

import json
from typing import ClassVar

from events.tenant import (
    DomainCreated,
    KeypairIssued,
    KeypairPolicyAssigned,
    KeypairRevoked,
    ProjectCreated,
    ProjectPolicyAssigned,
    ResourcePolicyChanged,
    ResourcePolicyDefined,
    UserAddedToProject,
    UserCreated,
    UserDeactivated,
    UserPolicyAssigned,
    UserRoleChanged,
)
from projections.base import EventMeta, Projection, handles
from projections.json_text import json_text
from projections.read_store import Tx


def _limits(event: ResourcePolicyDefined | ResourcePolicyChanged) -> str:
    return json_text(event.limits)


class TenantView(Projection):
    name: ClassVar[str] = "tenants"
    tables: ClassVar[dict[str, str]] = {
        "tenant_domain": "name",
        "tenant_project": "domain, name",
        "tenant_user": "username",
        "tenant_keypair": "access_key",
        "tenant_policy": "name",
    }

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS tenant_domain ("
            " name TEXT PRIMARY KEY,"
            " id TEXT NOT NULL,"
            " description TEXT NOT NULL,"
            " created_at TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS tenant_project ("
            " domain TEXT NOT NULL,"
            " name TEXT NOT NULL,"
            " id TEXT NOT NULL UNIQUE,"
            " policy TEXT NOT NULL,"
            " description TEXT NOT NULL,"
            " created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL,"
            " PRIMARY KEY (domain, name))",
            "CREATE TABLE IF NOT EXISTS tenant_user ("
            " username TEXT PRIMARY KEY,"
            " id TEXT NOT NULL UNIQUE,"
            " email TEXT NOT NULL,"
            " domain TEXT NOT NULL,"
            " role TEXT NOT NULL,"
            " policy TEXT NOT NULL,"
            " active INTEGER NOT NULL,"
            " status_reason TEXT NOT NULL,"
            " projects TEXT NOT NULL,"
            " created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS tenant_user_domain ON tenant_user (domain, username)",
            "CREATE TABLE IF NOT EXISTS tenant_keypair ("
            " access_key TEXT PRIMARY KEY,"
            " id TEXT NOT NULL UNIQUE,"
            " user_id TEXT NOT NULL,"
            " username TEXT NOT NULL,"
            " domain TEXT NOT NULL,"
            " policy TEXT NOT NULL,"
            " active INTEGER NOT NULL,"
            " status_reason TEXT NOT NULL,"
            " created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS tenant_keypair_user ON tenant_keypair (username)",
            "CREATE TABLE IF NOT EXISTS tenant_policy ("
            " name TEXT PRIMARY KEY,"
            " id TEXT NOT NULL UNIQUE,"
            " limits TEXT NOT NULL,"
            " created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL)",
        ]

    @handles(DomainCreated)
    def _domain_created(self, tx: Tx, event: DomainCreated, meta: EventMeta) -> None:
        tx.execute(
            "INSERT INTO tenant_domain (name, id, description, created_at) VALUES (?, ?, ?, ?)",
            (event.name, meta.aggregate_id, event.description, meta.at),
        )

    @handles(ProjectCreated)
    def _project_created(self, tx: Tx, event: ProjectCreated, meta: EventMeta) -> None:
        tx.execute(
            "INSERT INTO tenant_project (domain, name, id, policy, description,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                event.domain,
                event.name,
                meta.aggregate_id,
                event.policy,
                event.description,
                meta.at,
                meta.at,
            ),
        )

    @handles(ProjectPolicyAssigned)
    def _project_policy(self, tx: Tx, event: ProjectPolicyAssigned, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE tenant_project SET policy = ?, updated_at = ? WHERE id = ?",
            (event.policy, meta.at, meta.aggregate_id),
        )

    @handles(UserCreated)
    def _user_created(self, tx: Tx, event: UserCreated, meta: EventMeta) -> None:
        tx.execute(
            "INSERT INTO tenant_user (username, id, email, domain, role, policy, active,"
            " status_reason, projects, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, '', '[]', ?, ?)",
            (
                event.username,
                meta.aggregate_id,
                event.email,
                event.domain,
                event.role,
                event.policy,
                meta.at,
                meta.at,
            ),
        )

    @handles(UserRoleChanged)
    def _user_role(self, tx: Tx, event: UserRoleChanged, meta: EventMeta) -> None:
        self._user(tx, "role = ?", event.role, meta)

    @handles(UserPolicyAssigned)
    def _user_policy(self, tx: Tx, event: UserPolicyAssigned, meta: EventMeta) -> None:
        self._user(tx, "policy = ?", event.policy, meta)

    @handles(UserDeactivated)
    def _user_deactivated(self, tx: Tx, event: UserDeactivated, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE tenant_user SET active = 0, status_reason = ?, updated_at = ? WHERE id = ?",
            (event.reason, meta.at, meta.aggregate_id),
        )

    @handles(UserAddedToProject)
    def _user_added(self, tx: Tx, event: UserAddedToProject, meta: EventMeta) -> None:
        row = tx.fetchone("SELECT projects FROM tenant_user WHERE id = ?", (meta.aggregate_id,))
        projects = set(json.loads(row[0])) if row else set()
        projects.add(event.project)
        self._user(tx, "projects = ?", json_text(sorted(projects)), meta)

    @handles(KeypairIssued)
    def _keypair_issued(self, tx: Tx, event: KeypairIssued, meta: EventMeta) -> None:
        user = tx.fetchone("SELECT domain FROM tenant_user WHERE id = ?", (str(event.user_id),))
        tx.execute(
            "INSERT INTO tenant_keypair (access_key, id, user_id, username, domain,"
            " policy, active, status_reason, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, '', ?, ?)",
            (
                event.access_key,
                meta.aggregate_id,
                str(event.user_id),
                event.username,
                user[0] if user else "",
                event.policy,
                meta.at,
                meta.at,
            ),
        )

    @handles(KeypairRevoked)
    def _keypair_revoked(self, tx: Tx, event: KeypairRevoked, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE tenant_keypair SET active = 0, status_reason = ?, updated_at = ? WHERE id = ?",
            (event.reason, meta.at, meta.aggregate_id),
        )

    @handles(KeypairPolicyAssigned)
    def _keypair_policy(self, tx: Tx, event: KeypairPolicyAssigned, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE tenant_keypair SET policy = ?, updated_at = ? WHERE id = ?",
            (event.policy, meta.at, meta.aggregate_id),
        )

    @handles(ResourcePolicyDefined)
    def _policy_defined(self, tx: Tx, event: ResourcePolicyDefined, meta: EventMeta) -> None:
        tx.execute(
            "INSERT INTO tenant_policy (name, id, limits, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (event.name, meta.aggregate_id, _limits(event), meta.at, meta.at),
        )

    @handles(ResourcePolicyChanged)
    def _policy_changed(self, tx: Tx, event: ResourcePolicyChanged, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE tenant_policy SET limits = ?, updated_at = ? WHERE id = ?",
            (_limits(event), meta.at, meta.aggregate_id),
        )

    @staticmethod
    def _user(tx: Tx, assignment: str, value: str, meta: EventMeta) -> None:
        tx.execute(
            f"UPDATE tenant_user SET {assignment}, updated_at = ? WHERE id = ?",
            (value, meta.at, meta.aggregate_id),
        )
