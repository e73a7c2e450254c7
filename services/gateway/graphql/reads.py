"""The read-model queries GraphQL needs beyond :mod:`projections.queries`.

Status changes newer than a version (what subscriptions report), a session's
event history (``session_event_log``), the rows resource usage is summed from
(``usage_*``) and a projection's position. Plain functions over a
:class:`~projections.queries.Reader`, run through ``GatewayState.read``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from projections.queries import Page, Reader, StatusRow, Visibility, status_rows
from projections.queries.base import decode_cursor, encode_cursor
from services.gateway.graphql.access import visible_sql

#: ids per ``IN (...)`` list: well under SQLite's and PostgreSQL's parameter limits
IN_CHUNK = 500


_OWNER_COLUMNS = "id, name, access_key, user_id, project, domain, resource_group, session_type"


@dataclass(frozen=True)
class SessionOwner:
    """What decides whether a caller may see a session, and what a filter matches on."""

    session_id: str
    name: str
    access_key: str
    user_id: str
    project: str
    domain: str
    resource_group: str
    session_type: str


@dataclass(frozen=True)
class EventRow:
    notification_id: int
    stream_seq: int
    kind: str
    aggregate_id: str
    event_type: str
    version: int
    at: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class UsageRow:
    """One owner's part: live kernels (``slots`` set) or the totals of ended ones."""

    access_key: str
    user_id: str
    project: str
    domain: str
    resource_group: str
    session_id: str | None = None
    slots: dict[str, str] | None = None
    kernels: int = 0
    kernel_seconds: str = "0"
    slot_seconds: dict[str, str] | None = None


def projection_position(reader: Reader, name: str) -> int:
    """The notification id the read model ``name`` has taken in (0 before it started)."""
    row = reader.fetchone("SELECT notification_id FROM projection_position WHERE name = ?", (name,))
    return int(row[0]) if row else 0


def status_changes(reader: Reader, session_id: str, after_version: int) -> list[StatusRow]:
    return status_rows(reader, [session_id], after_version)


def status_changes_of(
    reader: Reader, since: dict[str, int]
) -> list[tuple[SessionOwner, StatusRow]]:
    """Each listed session's status changes from the version given (inclusive), in order."""
    found: list[tuple[SessionOwner, StatusRow]] = []
    ids = sorted(since)
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        owners = {
            r[0]: SessionOwner(*r)
            for r in reader.fetchall(
                f"SELECT {_OWNER_COLUMNS} FROM session_view"
                f" WHERE id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
        }
        for row in status_rows(reader, [i for i in chunk if i in owners]):
            if row.version >= since[row.session_id]:
                found.append((owners[row.session_id], row))
    return found


def session_owner(reader: Reader, session_id: str) -> SessionOwner | None:
    row = reader.fetchone(f"SELECT {_OWNER_COLUMNS} FROM session_view WHERE id = ?", (session_id,))
    return SessionOwner(*row) if row else None


def session_events(
    reader: Reader, session_id: str, limit: int, cursor: str | None
) -> Page[EventRow]:
    """The session's events in log order, ``limit`` at a time."""
    after = int(decode_cursor(cursor, 1)[0]) if cursor else 0
    rows = reader.fetchall(
        "SELECT notification_id, stream_seq, kind, aggregate_id, event_type, version, at,"
        " fields FROM session_event_log WHERE session_id = ? AND notification_id > ?"
        " ORDER BY notification_id LIMIT ?",
        (session_id, after, limit + 1),
    )
    events = [
        EventRow(int(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5]), r[6], json.loads(r[7]))
        for r in rows
    ]
    if len(events) <= limit:
        return Page(items=events, next_cursor=None)
    return Page(
        items=events[:limit], next_cursor=encode_cursor(str(events[limit - 1].notification_id))
    )


def _owner_filter(
    visibility: Visibility, filters: Mapping[str, Sequence[str]], alias: str
) -> tuple[str, list[Any]]:
    clause, params = visible_sql(visibility, alias)
    for column, values in sorted(filters.items()):
        if values:
            clause += f" AND {alias}.{column} IN ({', '.join('?' * len(values))})"
            params.extend(values)
    return clause, params


def usage_rows(
    reader: Reader, visibility: Visibility, filters: Mapping[str, Sequence[str]]
) -> list[UsageRow]:
    """Live kernels and ended totals the caller may see, narrowed by owner ``filters``."""
    live_where, live_params = _owner_filter(visibility, filters, "o")
    live = reader.fetchall(
        "SELECT o.access_key, o.user_id, o.project, o.domain, o.resource_group, a.session_id,"
        " a.slots FROM usage_allocation a JOIN usage_owner o ON o.session_id = a.session_id"
        f" WHERE {live_where}",
        live_params,
    )
    total_where, total_params = _owner_filter(visibility, filters, "t")
    totals = reader.fetchall(
        "SELECT t.access_key, t.user_id, t.project, t.domain, t.resource_group, t.kernels,"
        f" t.kernel_seconds, t.slot_seconds FROM usage_total t WHERE {total_where}",
        total_params,
    )
    found = [
        UsageRow(r[0], r[1], r[2], r[3], r[4], session_id=r[5], slots=json.loads(r[6]))
        for r in live
    ]
    found += [
        UsageRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            kernels=int(r[5]),
            kernel_seconds=r[6],
            slot_seconds=json.loads(r[7]),
        )
        for r in totals
    ]
    return found
