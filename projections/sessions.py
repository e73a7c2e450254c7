"""``SessionView``: every compute session as users list and inspect them, with status history.

``session_view`` holds one row per session, current status first; the
``session_status_history`` table keeps each status a session has passed
through with its reason, so "what happened to my session" needs no extra event.
``session_kernel`` holds the kernels of the session's current placement (which
agent runs which kernel), so logs and exec know whom to ask; a re-queued
session has none until it is placed again.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from events.base import DomainEvent
from events.session import (
    KernelObserved,
    SessionCancelled,
    SessionErrored,
    SessionPreparing,
    SessionRequested,
    SessionRequeued,
    SessionRunning,
    SessionScheduled,
    SessionTerminated,
    SessionTerminating,
)
from projections.base import EventMeta, Projection
from projections.json_text import json_text
from projections.read_store import Tx
from services.manager.domain.session import SessionStatus


def _at(moment: datetime) -> str:
    return moment.isoformat()


class SessionView(Projection):
    name: ClassVar[str] = "sessions"
    tables: ClassVar[dict[str, str]] = {
        "session_view": "id",
        "session_status_history": "session_id, version",
        "session_kernel": "session_id, kernel_index",
    }

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS session_view ("
            " id TEXT PRIMARY KEY,"
            " name TEXT NOT NULL,"
            " access_key TEXT NOT NULL,"
            " user_id TEXT NOT NULL,"
            " project TEXT NOT NULL,"
            " domain TEXT NOT NULL,"
            " resource_group TEXT NOT NULL,"
            " image TEXT NOT NULL,"
            " session_type TEXT NOT NULL,"
            " cluster_size INTEGER NOT NULL,"
            " status TEXT NOT NULL,"
            " status_reason TEXT NOT NULL,"
            " resources TEXT NOT NULL,"
            " agents TEXT NOT NULL,"
            " exit_code INTEGER,"
            " result TEXT NOT NULL,"
            " created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL,"
            " version BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS session_view_owner"
            " ON session_view (access_key, created_at)",
            "CREATE INDEX IF NOT EXISTS session_view_status ON session_view (status)",
            # The API lists newest first, by user or by domain.
            "CREATE INDEX IF NOT EXISTS session_view_created ON session_view (created_at, id)",
            "CREATE INDEX IF NOT EXISTS session_view_user ON session_view (user_id, created_at)",
            "CREATE INDEX IF NOT EXISTS session_view_domain"
            " ON session_view (domain, project, created_at)",
            "CREATE TABLE IF NOT EXISTS session_status_history ("
            " session_id TEXT NOT NULL,"
            " version BIGINT NOT NULL,"
            " status TEXT NOT NULL,"
            " reason TEXT NOT NULL,"
            " at TEXT NOT NULL,"
            " PRIMARY KEY (session_id, version))",
            "CREATE TABLE IF NOT EXISTS session_kernel ("
            " session_id TEXT NOT NULL,"
            " kernel_index INTEGER NOT NULL,"
            " kernel_id TEXT NOT NULL,"
            " agent_id TEXT NOT NULL,"
            " PRIMARY KEY (session_id, kernel_index))",
        ]

    def apply(self, tx: Tx, event: DomainEvent, meta: EventMeta) -> None:
        match event:
            case SessionRequested():
                self._requested(tx, event)
            case SessionScheduled():
                agents = sorted({str(a.agent_id) for a in event.assignments})
                tx.execute(
                    "UPDATE session_view SET agents = ? WHERE id = ?",
                    (json_text(agents), str(event.originator_id)),
                )
                self._kernels(tx, event)
                self._status(tx, event, SessionStatus.SCHEDULED, event.reason)
            case SessionPreparing():
                self._status(tx, event, SessionStatus.PREPARING, event.reason)
            case SessionRunning():
                self._status(tx, event, SessionStatus.RUNNING, event.reason)
            case SessionTerminating():
                self._status(tx, event, SessionStatus.TERMINATING, event.reason)
            case SessionTerminated():
                tx.execute(
                    "UPDATE session_view SET exit_code = ?, result = ? WHERE id = ?",
                    (event.exit_code, event.result, str(event.originator_id)),
                )
                self._status(tx, event, SessionStatus.TERMINATED, event.reason)
            case SessionErrored():
                tx.execute(
                    "UPDATE session_view SET result = ? WHERE id = ?",
                    ("failure", str(event.originator_id)),
                )
                self._status(tx, event, SessionStatus.ERROR, event.reason)
            case SessionCancelled():
                self._status(tx, event, SessionStatus.CANCELLED, event.reason)
            case SessionRequeued():
                tx.execute(
                    "UPDATE session_view SET agents = ? WHERE id = ?",
                    ("[]", str(event.originator_id)),
                )
                tx.execute(
                    "DELETE FROM session_kernel WHERE session_id = ?", (str(event.originator_id),)
                )
                self._status(tx, event, SessionStatus.PENDING, event.reason)
            case KernelObserved():
                tx.execute(
                    "UPDATE session_view SET version = ? WHERE id = ?",
                    (event.originator_version, str(event.originator_id)),
                )

    def _requested(self, tx: Tx, event: SessionRequested) -> None:
        at = _at(event.timestamp)
        tx.execute(
            "INSERT INTO session_view (id, name, access_key, user_id, project, domain,"
            " resource_group, image, session_type, cluster_size, status, status_reason,"
            " resources, agents, exit_code, result, created_at, updated_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(event.originator_id),
                event.name,
                event.access_key,
                event.user_id,
                event.project,
                event.domain,
                event.resource_group,
                event.image,
                event.session_type,
                len(event.kernels),
                SessionStatus.PENDING.value,
                "requested",
                json_text(event.kernels[0].slots if event.kernels else {}),
                "[]",
                None,
                "undefined",
                at,
                at,
                event.originator_version,
            ),
        )
        self._history(tx, event, SessionStatus.PENDING, "requested")

    def _kernels(self, tx: Tx, event: SessionScheduled) -> None:
        session_id = str(event.originator_id)
        tx.execute("DELETE FROM session_kernel WHERE session_id = ?", (session_id,))
        for a in event.assignments:
            tx.execute(
                "INSERT INTO session_kernel (session_id, kernel_index, kernel_id, agent_id)"
                " VALUES (?, ?, ?, ?)",
                (session_id, a.index, str(a.kernel_id), str(a.agent_id)),
            )

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
