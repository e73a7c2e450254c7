"""Domains, projects, users, keypairs (never their secrets) and resource policies.

Superadmins see every tenant; domain admins those of their own domain; a user
their own domain, their own projects, themselves and their own keypairs.
Resource policies are readable by everyone (they hold no secrets).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from projections.queries.base import (
    Keyset,
    Page,
    Reader,
    Row,
    Visibility,
    Where,
    read_page,
)

_USER_COLUMNS = (
    "id, username, email, domain, role, policy, active, status_reason, projects,"
    " created_at, updated_at"
)
_KEYPAIR_COLUMNS = (
    "access_key, user_id, username, domain, policy, active, status_reason, created_at, updated_at"
)


@dataclass(frozen=True)
class DomainRow:
    name: str
    description: str
    created_at: str


@dataclass(frozen=True)
class ProjectRow:
    domain: str
    name: str
    policy: str
    description: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class UserRow:
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


@dataclass(frozen=True)
class KeypairRow:
    access_key: str
    user_id: str
    username: str
    domain: str
    policy: str
    active: bool
    status_reason: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class PolicyRow:
    name: str
    #: the policy's limits as :class:`events.tenant.PolicyLimits` fields (unset ones omitted)
    limits: dict[str, Any]
    created_at: str
    updated_at: str


def _in_domain(visible_to: Visibility) -> tuple[str, list[Any]]:
    if visible_to.is_superadmin:
        return "1 = 1", []
    return "domain = ?", [visible_to.domain]


def list_domains(conn: Reader, *, visible_to: Visibility) -> list[DomainRow]:
    where = "1 = 1" if visible_to.is_superadmin else "name = ?"
    params = [] if visible_to.is_superadmin else [visible_to.domain]
    rows = conn.fetchall(
        f"SELECT name, description, created_at FROM tenant_domain WHERE {where} ORDER BY name",
        params,
    )
    return [DomainRow(name=r[0], description=r[1], created_at=r[2]) for r in rows]


def list_projects(
    conn: Reader, *, visible_to: Visibility, domain: str | None = None
) -> list[ProjectRow]:
    where = Where(*_in_domain(visible_to))
    if visible_to.role == "user":
        if not visible_to.projects:
            return []
        where.one_of("name", visible_to.projects)
    where.equal("domain", domain)
    rows = conn.fetchall(
        "SELECT domain, name, policy, description, created_at, updated_at FROM tenant_project"
        f"{where.sql()} ORDER BY domain, name",
        where.params,
    )
    return [ProjectRow(*r) for r in rows]


def _user(r: Row) -> UserRow:
    return UserRow(
        id=r[0],
        username=r[1],
        email=r[2],
        domain=r[3],
        role=r[4],
        policy=r[5],
        active=bool(r[6]),
        status_reason=r[7],
        projects=json.loads(r[8]),
        created_at=r[9],
        updated_at=r[10],
    )


def _users(rows: list[Row]) -> list[UserRow]:
    return [_user(r) for r in rows]


_BY_USERNAME: Keyset[UserRow] = Keyset(("username",), lambda u: (u.username,))


def _users_scope(visible_to: Visibility) -> tuple[str, list[Any]]:
    if visible_to.role == "user":
        return "id = ?", [visible_to.user_id]
    return _in_domain(visible_to)


def list_users(
    conn: Reader,
    *,
    visible_to: Visibility,
    domain: str | None = None,
    project: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page[UserRow]:
    """By username. ``project`` keeps the members of a project of that name."""
    where = Where(*_users_scope(visible_to))
    where.equal("domain", domain)
    if project is not None:
        # ``projects`` is a JSON list of names; the quoted name is matched literally.
        where.add("projects LIKE ? ESCAPE '\\'", f"%{_like_literal(json.dumps(project))}%")
    select = f"SELECT {_USER_COLUMNS} FROM tenant_user"
    return read_page(conn, select, where, _BY_USERNAME, _users, limit=limit, cursor=cursor)


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_user(conn: Reader, username: str, *, visible_to: Visibility) -> UserRow | None:
    where, params = _users_scope(visible_to)
    row = conn.fetchone(
        f"SELECT {_USER_COLUMNS} FROM tenant_user WHERE username = ? AND {where}",
        [username, *params],
    )
    return _user(row) if row else None


def list_keypairs(
    conn: Reader,
    *,
    visible_to: Visibility,
    username: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page[KeypairRow]:
    """By access key; never with secrets."""
    if visible_to.role == "user":
        where = Where("user_id = ?", [visible_to.user_id])
    else:
        where = Where(*_in_domain(visible_to))
    where.equal("username", username)
    select = f"SELECT {_KEYPAIR_COLUMNS} FROM tenant_keypair"
    return read_page(conn, select, where, _BY_ACCESS_KEY, _keypairs, limit=limit, cursor=cursor)


def _keypairs(rows: list[Row]) -> list[KeypairRow]:
    return [
        KeypairRow(
            access_key=r[0],
            user_id=r[1],
            username=r[2],
            domain=r[3],
            policy=r[4],
            active=bool(r[5]),
            status_reason=r[6],
            created_at=r[7],
            updated_at=r[8],
        )
        for r in rows
    ]


_BY_ACCESS_KEY: Keyset[KeypairRow] = Keyset(("access_key",), lambda k: (k.access_key,))


def _policy(r: Row) -> PolicyRow:
    return PolicyRow(name=r[0], limits=json.loads(r[1]), created_at=r[2], updated_at=r[3])


def list_policies(conn: Reader) -> list[PolicyRow]:
    rows = conn.fetchall(
        "SELECT name, limits, created_at, updated_at FROM tenant_policy ORDER BY name"
    )
    return [_policy(r) for r in rows]


def get_policy(conn: Reader, name: str) -> PolicyRow | None:
    row = conn.fetchone(
        "SELECT name, limits, created_at, updated_at FROM tenant_policy WHERE name = ?", [name]
    )
    return _policy(row) if row else None
