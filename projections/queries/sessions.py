"""Sessions as their owners, project members and admins see them (``session_view``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from projections.queries.base import (
    Keyset,
    Page,
    Reader,
    Row,
    Visibility,
    Where,
    placeholders,
    read_page,
)
from projections.sessions import REQUESTED_REASON, STATUS_SET_BY

_COLUMNS = (
    "id, name, access_key, user_id, project, domain, resource_group, image, session_type,"
    " cluster_size, status, status_reason, resources, agents, exit_code, result,"
    " created_at, updated_at, seq"
)


@dataclass(frozen=True)
class KernelRow:
    kernel_id: str
    agent_id: str
    index: int


@dataclass(frozen=True)
class SessionRow:
    id: str
    name: str
    owner_access_key: str
    user_id: str
    project: str
    domain: str
    resource_group: str
    image: str
    session_type: str
    cluster_size: int
    status: str
    status_reason: str
    #: per kernel, slot name to decimal string
    resources: dict[str, str]
    agents: list[str]
    kernels: list[KernelRow]
    exit_code: int | None
    result: str
    created_at: str
    updated_at: str
    #: its place in the log (the notification id of its request): lists run newest first by it
    seq: int


@dataclass(frozen=True)
class StatusChange:
    status: str
    reason: str
    at: str


@dataclass(frozen=True)
class StatusRow:
    """One status a session passed through: the event that set it, read from the session's
    event log (``session_event_log``)."""

    session_id: str
    #: the session's version after that event
    version: int
    status: str
    reason: str
    at: str


_NEWEST_FIRST: Keyset[SessionRow] = Keyset(
    ("seq",), lambda s: (str(s.seq),), descending=True, integers=True
)


def _scope(visible_to: Visibility) -> tuple[str, list[Any]]:
    """The WHERE clause that keeps only the sessions ``visible_to`` may read."""
    if visible_to.is_superadmin:
        return "1 = 1", []
    if visible_to.role == "domain_admin":
        return "domain = ?", [visible_to.domain]
    if not visible_to.projects:
        return "user_id = ?", [visible_to.user_id]
    projects = list(visible_to.projects)
    return (
        f"(user_id = ? OR (domain = ? AND project IN ({placeholders(len(projects))})))",
        [visible_to.user_id, visible_to.domain, *projects],
    )


def can_control(visible_to: Visibility, session: SessionRow) -> bool:
    """Whether the reader may act on the session (exec), not only read it: its owner,
    or an admin of its domain. Project members read each other's sessions only."""
    return session.user_id == visible_to.user_id or visible_to.administers(session.domain)


def _kernels(conn: Reader, ids: Sequence[str]) -> dict[str, list[KernelRow]]:
    found: dict[str, list[KernelRow]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = conn.fetchall(
        "SELECT session_id, kernel_index, kernel_id, agent_id FROM session_kernel"
        f" WHERE session_id IN ({placeholders(len(ids))}) ORDER BY session_id, kernel_index",
        list(ids),
    )
    for session_id, index, kernel_id, agent_id in rows:
        found[session_id].append(KernelRow(kernel_id=kernel_id, agent_id=agent_id, index=index))
    return found


def _rows(conn: Reader, rows: list[Row]) -> list[SessionRow]:
    kernels = _kernels(conn, [r[0] for r in rows])
    return [
        SessionRow(
            id=r[0],
            name=r[1],
            owner_access_key=r[2],
            user_id=r[3],
            project=r[4],
            domain=r[5],
            resource_group=r[6],
            image=r[7],
            session_type=r[8],
            cluster_size=int(r[9]),
            status=r[10],
            status_reason=r[11],
            resources=json.loads(r[12]),
            agents=json.loads(r[13]),
            kernels=kernels[r[0]],
            exit_code=None if r[14] is None else int(r[14]),
            result=r[15],
            created_at=r[16],
            updated_at=r[17],
            seq=int(r[18]),
        )
        for r in rows
    ]


def list_sessions(
    conn: Reader,
    *,
    visible_to: Visibility,
    statuses: Sequence[str] | None = None,
    project: str | None = None,
    owner: str | None = None,
    name: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[SessionRow]:
    """Newest first. ``owner`` is an access key; ``name`` matches exactly."""
    where = Where(*_scope(visible_to))
    where.one_of("status", [s.upper() for s in statuses or ()])
    where.equal("project", project)
    if owner is not None:
        # No index by access key: a key belongs to one user, whose index finds its sessions.
        where.equal("user_id", _user_of_key(conn, owner))
    where.equal("access_key", owner)
    where.equal("name", name)
    select = f"SELECT {_COLUMNS} FROM session_view"
    return read_page(
        conn, select, where, _NEWEST_FIRST, partial(_rows, conn), limit=limit, cursor=cursor
    )


def _user_of_key(conn: Reader, access_key: str) -> str | None:
    """The user the keypair ``access_key`` belongs to; None for a key the tenants model does
    not know (its sessions are then found by a scan)."""
    row = conn.fetchone("SELECT user_id FROM tenant_keypair WHERE access_key = ?", [access_key])
    return None if row is None else str(row[0])


def get_session(conn: Reader, session_id: str, *, visible_to: Visibility) -> SessionRow | None:
    """The session, or ``None`` when it does not exist or the reader may not see it."""
    where, params = _scope(visible_to)
    rows = conn.fetchall(
        f"SELECT {_COLUMNS} FROM session_view WHERE id = ? AND {where}", [session_id, *params]
    )
    found = _rows(conn, rows)
    return found[0] if found else None


def session_history(
    conn: Reader, session_id: str, *, visible_to: Visibility
) -> list[StatusChange] | None:
    """Every status the session passed through, oldest first; ``None`` as in :func:`get_session`."""
    where, params = _scope(visible_to)
    if (
        conn.fetchone(
            f"SELECT id FROM session_view WHERE id = ? AND {where}", [session_id, *params]
        )
        is None
    ):
        return None
    rows = status_rows(conn, [session_id])
    return [StatusChange(status=r.status, reason=r.reason, at=r.at) for r in rows]


def status_rows(
    conn: Reader, session_ids: Sequence[str], after_version: int = 0
) -> list[StatusRow]:
    """The statuses of the sessions ``session_ids`` set by events after ``after_version``,
    by session, oldest first: the events in the sessions' event log that set a status."""
    if not session_ids:
        return []
    setters = list(STATUS_SET_BY)
    rows = conn.fetchall(
        "SELECT session_id, version, event_type, fields, at FROM session_event_log"
        f" WHERE session_id IN ({placeholders(len(session_ids))})"
        f" AND event_type IN ({placeholders(len(setters))}) AND version > ?"
        " ORDER BY session_id, notification_id",
        [*session_ids, *setters, after_version],
    )
    return [
        StatusRow(
            session_id=r[0],
            version=int(r[1]),
            status=STATUS_SET_BY[r[2]],
            reason=json.loads(r[3]).get("reason", REQUESTED_REASON),
            at=r[4],
        )
        for r in rows
    ]
