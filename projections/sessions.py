"""``SessionView``: every compute session as users list and inspect them, with status history.

``session_view`` holds one row per session, current status first; the
``session_status_history`` table keeps each status a session has passed
through with its reason, so "what happened to my session" needs no extra event.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import ClassVar

from events.base import DomainEvent
from events.session import SessionCancelled, SessionRequested
from projections.base import EventMeta, Projection
from projections.read_store import Tx
from services.manager.domain.session import SessionStatus


def _at(moment: datetime) -> str:
    return moment.isoformat()


class SessionView(Projection):
    name: ClassVar[str] = "sessions"
    tables: ClassVar[dict[str, str]] = {
        "session_view": "id",
        "session_status_history": "session_id, version",
    }

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS session_view ("
            " id TEXT PRIMARY KEY,"
            " name TEXT NOT NULL,"
            " owner TEXT NOT NULL,"
            " image TEXT NOT NULL,"
            " session_type TEXT NOT NULL,"
            " status TEXT NOT NULL,"
            " status_reason TEXT NOT NULL,"
            " resources TEXT NOT NULL,"
            " created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL,"
            " version BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS session_view_owner ON session_view (owner, created_at)",
            "CREATE INDEX IF NOT EXISTS session_view_status ON session_view (status)",
            "CREATE TABLE IF NOT EXISTS session_status_history ("
            " session_id TEXT NOT NULL,"
            " version BIGINT NOT NULL,"
            " status TEXT NOT NULL,"
            " reason TEXT NOT NULL,"
            " at TEXT NOT NULL,"
            " PRIMARY KEY (session_id, version))",
        ]

    def apply(self, tx: Tx, event: DomainEvent, meta: EventMeta) -> None:
        match event:
            case SessionRequested():
                self._requested(tx, event)
            case SessionCancelled():
                self._status(tx, event, SessionStatus.CANCELLED, event.reason)

    def _requested(self, tx: Tx, event: SessionRequested) -> None:
        at = _at(event.timestamp)
        tx.execute(
            "INSERT INTO session_view (id, name, owner, image, session_type, status,"
            " status_reason, resources, created_at, updated_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(event.originator_id),
                event.name,
                event.owner,
                event.image,
                event.session_type,
                SessionStatus.PENDING.value,
                "requested",
                json.dumps(event.resources, sort_keys=True),
                at,
                at,
                event.originator_version,
            ),
        )
        self._history(tx, event, SessionStatus.PENDING, "requested")

    def _status(self, tx: Tx, event: DomainEvent, status: SessionStatus, reason: str) -> None:
        tx.execute(
            "UPDATE session_view SET status = ?, status_reason = ?, updated_at = ?, version = ?"
            " WHERE id = ?",
            (
                status.value,
                reason,
                _at(event.timestamp),
                event.originator_version,
                str(event.originator_id),
            ),
        )
        self._history(tx, event, status, reason)

    def _history(self, tx: Tx, event: DomainEvent, status: SessionStatus, reason: str) -> None:
        tx.execute(
            "INSERT INTO session_status_history (session_id, version, status, reason, at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                str(event.originator_id),
                event.originator_version,
                status.value,
                reason,
                _at(event.timestamp),
            ),
        )
