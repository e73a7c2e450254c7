"""``SessionView``: every compute session as users list and inspect them.

``session_view`` holds one row per session, current status first, in the order the
sessions were requested: its key ``seq`` is the notification id of the session's
``SessionRequested``, so lists run newest first along the table itself, and each index
(by user, by domain and project, by status) holds only its own columns besides: in
SQLite every index ends in the row's key, in PostgreSQL it is named last. Since the key
is the log's own number, a rebuild gives every session the same one again. A filter by
owner (access key) goes through the owner's user (:mod:`projections.queries.sessions`).
``session_kernel`` holds the kernels of the session's current placement (which
agent runs which kernel), so logs and exec know whom to ask; a re-queued
session has none until it is placed again.

A session's status history is not stored again here: each status comes from one
event, and ``session_event_log`` (:mod:`projections.session_events`) holds every
event of the session with its fields. :data:`STATUS_SET_BY` names the events that
set a status, and which, for the queries that read the history from there.
"""

from __future__ import annotations

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
from projections.base import EventMeta, Projection, handles
from projections.json_text import json_text
from projections.read_store import Tx
from services.manager.domain.session import SessionStatus

PENDING = SessionStatus.PENDING.value

_StatusOnly = SessionPreparing | SessionRunning | SessionTerminating | SessionCancelled
#: the events that change nothing but the session's status
_STATUS_ONLY: dict[type[_StatusOnly], SessionStatus] = {
    SessionPreparing: SessionStatus.PREPARING,
    SessionRunning: SessionStatus.RUNNING,
    SessionTerminating: SessionStatus.TERMINATING,
    SessionCancelled: SessionStatus.CANCELLED,
}
#: the reason ``session_view`` gives a session that was only requested (its event has none)
REQUESTED_REASON = "requested"
#: every event that sets a session's status, by event name, with the status it sets
STATUS_SET_BY: dict[str, str] = {
    event.__name__: status.value
    for event, status in [
        (SessionRequested, SessionStatus.PENDING),
        (SessionScheduled, SessionStatus.SCHEDULED),
        *_STATUS_ONLY.items(),
        (SessionTerminated, SessionStatus.TERMINATED),
        (SessionErrored, SessionStatus.ERROR),
        (SessionRequeued, SessionStatus.PENDING),
    ]
}


#: a requested session's row: what every new session starts with is written as it is, not sent
#: with each row (status, its reason, no agents, no exit code, no result yet)
_REQUESTED_SQL = (
    "INSERT INTO session_view (seq, id, name, access_key, user_id, project, domain,"
    " resource_group, image, session_type, cluster_size, resources, created_at, updated_at,"
    " version, status, status_reason, agents, exit_code, result)"
    f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{PENDING}', '{REQUESTED_REASON}',"
    " '[]', NULL, 'undefined')"
)


class SessionView(Projection):
    name: ClassVar[str] = "sessions"
    tables: ClassVar[dict[str, str]] = {
        "session_view": "seq",
        "session_kernel": "session_id, kernel_index",
    }
    #: 2: keyed by ``seq``, without the indexes by owner and by creation time
    schema_version: ClassVar[int] = 2

    def ddl(self, dialect: str) -> list[str]:
        # SQLite's own row key ends every index; PostgreSQL's indexes must name it.
        key, then_seq = ("INTEGER", "") if dialect == "sqlite" else ("BIGINT", ", seq")
        return [
            "CREATE TABLE IF NOT EXISTS session_view ("
            f" seq {key} PRIMARY KEY,"
            " id TEXT NOT NULL UNIQUE,"
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
            # The API lists newest first (by seq), by user, by domain or by status.
            f"CREATE INDEX IF NOT EXISTS session_view_user ON session_view (user_id{then_seq})",
            "CREATE INDEX IF NOT EXISTS session_view_domain"
            f" ON session_view (domain, project{then_seq})",
            f"CREATE INDEX IF NOT EXISTS session_view_status ON session_view (status{then_seq})",
            # Earlier versions kept the status history here as well.
            "DROP TABLE IF EXISTS session_status_history",
            "CREATE TABLE IF NOT EXISTS session_kernel ("
            " session_id TEXT NOT NULL,"
            " kernel_index INTEGER NOT NULL,"
            " kernel_id TEXT NOT NULL,"
            " agent_id TEXT NOT NULL,"
            " PRIMARY KEY (session_id, kernel_index))",
        ]

    @handles(SessionRequested)
    def _requested(self, tx: Tx, event: SessionRequested, meta: EventMeta) -> None:
        tx.execute(
            _REQUESTED_SQL,
            (
                meta.notification_id,
                meta.aggregate_id,
                event.name,
                event.access_key,
                event.user_id,
                event.project,
                event.domain,
                event.resource_group,
                event.image,
                event.session_type,
                len(event.kernels),
                json_text(event.kernels[0].slots if event.kernels else {}),
                meta.at,
                meta.at,
                event.originator_version,
            ),
        )

    @handles(SessionScheduled)
    def _scheduled(self, tx: Tx, event: SessionScheduled, meta: EventMeta) -> None:
        agents = sorted({str(a.agent_id) for a in event.assignments})
        tx.execute(
            "UPDATE session_view SET agents = ? WHERE id = ?",
            (json_text(agents), meta.aggregate_id),
        )
        tx.execute("DELETE FROM session_kernel WHERE session_id = ?", (meta.aggregate_id,))
        for a in event.assignments:
            tx.execute(
                "INSERT INTO session_kernel (session_id, kernel_index, kernel_id, agent_id)"
                " VALUES (?, ?, ?, ?)",
                (meta.aggregate_id, a.index, str(a.kernel_id), str(a.agent_id)),
            )
        self._status(tx, event, meta, SessionStatus.SCHEDULED, event.reason)

    @handles(*_STATUS_ONLY)
    def _moved(self, tx: Tx, event: _StatusOnly, meta: EventMeta) -> None:
        self._status(tx, event, meta, _STATUS_ONLY[type(event)], event.reason)

    @handles(SessionTerminated)
    def _terminated(self, tx: Tx, event: SessionTerminated, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE session_view SET exit_code = ?, result = ? WHERE id = ?",
            (event.exit_code, event.result, meta.aggregate_id),
        )
        self._status(tx, event, meta, SessionStatus.TERMINATED, event.reason)

    @handles(SessionErrored)
    def _errored(self, tx: Tx, event: SessionErrored, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE session_view SET result = ? WHERE id = ?", ("failure", meta.aggregate_id)
        )
        self._status(tx, event, meta, SessionStatus.ERROR, event.reason)

    @handles(SessionRequeued)
    def _requeued(self, tx: Tx, event: SessionRequeued, meta: EventMeta) -> None:
        tx.execute("UPDATE session_view SET agents = ? WHERE id = ?", ("[]", meta.aggregate_id))
        tx.execute("DELETE FROM session_kernel WHERE session_id = ?", (meta.aggregate_id,))
        self._status(tx, event, meta, SessionStatus.PENDING, event.reason)

    @handles(KernelObserved)
    def _observed(self, tx: Tx, event: KernelObserved, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE session_view SET version = ? WHERE id = ?",
            (event.originator_version, meta.aggregate_id),
        )

    @staticmethod
    def _status(
        tx: Tx, event: DomainEvent, meta: EventMeta, status: SessionStatus, reason: str
    ) -> None:
        tx.execute(
            "UPDATE session_view SET status = ?, status_reason = ?, updated_at = ?, version = ?"
            " WHERE id = ?",
            (status.value, reason, meta.at, event.originator_version, meta.aggregate_id),
        )
