"""Stand-ins for the projection tests: envelopes of real and broken events, a failing model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar
from uuid import UUID

import msgspec

from events import codec
from events.base import DomainEvent
from events.session import SessionCancelled, SessionRequested
from events.subjects import subject_for
from projections.base import EventMeta, handles
from projections.envelope import Envelope
from projections.read_store import Tx
from projections.sessions import SessionView
from tests.factories import requested_session

AT = datetime(2030, 1, 1, tzinfo=UTC)


def requested(session: UUID, name: str = "train") -> SessionRequested:
    event = requested_session(
        name=name,
        access_key="alice",
        image="busybox",
        session_type="batch",
        startup_command="python train.py",
        resources={"mem": "1g", "cpu": "2"},
        request_id=f"req-{name}",
        at=AT,
    ).collect_events()[0]
    assert isinstance(event, SessionRequested)
    return msgspec.structs.replace(event, originator_id=session)


def cancelled(session: UUID, reason: str = "not needed") -> SessionCancelled:
    return SessionCancelled(
        originator_id=session,
        originator_version=2,
        timestamp=AT + timedelta(minutes=5),
        reason=reason,
    )


def envelope(seq: int, event: DomainEvent, nid: int | None = None) -> Envelope:
    topic, payload = codec.encode(event)
    return Envelope(
        stream_seq=seq,
        subject=subject_for(event),
        notification_id=seq if nid is None else nid,
        topic=topic,
        payload=payload,
    )


def raw(seq: int, topic: str | None, payload: bytes, nid: int | None = -1) -> Envelope:
    return Envelope(
        stream_seq=seq,
        subject="berth.ev.session.x.Something",
        notification_id=seq if nid == -1 else nid,
        topic=topic,
        payload=payload,
    )


class FussySessionView(SessionView):
    """The sessions model, with a bug: it cannot take one particular session name."""

    name: ClassVar[str] = "fussy"

    @handles(SessionRequested)
    def _requested(self, tx: Tx, event: SessionRequested, meta: EventMeta) -> None:
        super()._requested(tx, event, meta)
        if event.name == "poison":
            raise ValueError("cannot handle poison")
