"""``SessionEvents``: every event that concerns one session, in log order, to show its history.

The session's own events, and the decisions its kernels caused on agents
(``KernelAssigned``, ``KernelTerminationRequested``, ``KernelReleased``), each
with its place in the log and its fields as JSON (in the order the event
declares them). Reading a session's history
then is one indexed query on the read store, however long the stream is and
whatever the stream has aged out.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from events.agent import KernelAssigned, KernelReleased, KernelTerminationRequested
from events.base import EVENT_TYPES, DomainEvent
from events.session import SessionRequested
from projections.base import EventMeta, Projection, handles
from projections.read_store import Tx

#: fields every event carries; stored in columns of their own
ENVELOPE_FIELDS = ("originator_id", "originator_version", "timestamp")

_encoder = msgspec.json.Encoder()


def fields_json(event: DomainEvent, meta: EventMeta) -> str:
    """The event's own fields (all but :data:`ENVELOPE_FIELDS`) as JSON, in declaration order,
    without those at their defaults (as payloads leave them out, :mod:`events.base`).

    A current payload as msgspec wrote it holds that JSON already, after its
    envelope fields (:attr:`EventMeta.fields_at`): it is cut out rather than encoded
    again (one written before payloads left defaults out keeps them). Anything else
    (an upcast older version, a payload spelled otherwise) is encoded from the event.
    """
    if meta.fields_at:
        payload = meta.payload
        separator = payload[meta.fields_at - 1 : meta.fields_at]
        if separator == b",":
            return "{" + payload[meta.fields_at :].decode()
        if separator == b"}" and meta.fields_at == len(payload):
            return "{}"
    fields = msgspec.to_builtins(event)
    for name in ENVELOPE_FIELDS:
        del fields[name]
    return _encoder.encode(fields).decode()


#: the session's own events
SESSION_EVENTS = tuple(EVENT_TYPES.of_kind(SessionRequested.kind))


class SessionEvents(Projection):
    name: ClassVar[str] = "session_events"
    tables: ClassVar[dict[str, str]] = {"session_event_log": "session_id, notification_id"}

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS session_event_log ("
            " session_id TEXT NOT NULL,"
            " notification_id BIGINT NOT NULL,"
            " stream_seq BIGINT NOT NULL,"
            " kind TEXT NOT NULL,"
            " aggregate_id TEXT NOT NULL,"
            " event_type TEXT NOT NULL,"
            " version BIGINT NOT NULL,"
            " at TEXT NOT NULL,"
            " fields TEXT NOT NULL,"
            " PRIMARY KEY (session_id, notification_id))",
        ]

    @handles(*SESSION_EVENTS)
    def _own(self, tx: Tx, event: DomainEvent, meta: EventMeta) -> None:
        self._log(tx, meta.aggregate_id, event, meta)

    @handles(KernelAssigned, KernelTerminationRequested, KernelReleased)
    def _kernel(
        self,
        tx: Tx,
        event: KernelAssigned | KernelTerminationRequested | KernelReleased,
        meta: EventMeta,
    ) -> None:
        self._log(tx, str(event.session_id), event, meta)

    @staticmethod
    def _log(tx: Tx, session_id: str, event: DomainEvent, meta: EventMeta) -> None:
        tx.execute(
            "INSERT INTO session_event_log (session_id, notification_id, stream_seq, kind,"
            " aggregate_id, event_type, version, at, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                meta.notification_id,
                meta.stream_seq,
                type(event).kind,
                meta.aggregate_id,
                type(event).__name__,
                event.originator_version,
                meta.at,
                fields_json(event, meta),
            ),
        )
