from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.session import SessionCancelled, SessionRequested
from services.manager.domain.session import (
    Session,
    SessionStateError,
    SessionStatus,
    session_id_for,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def new_session() -> Session:
    return Session.request(
        name="train",
        owner="alice",
        image="python",
        session_type="interactive",
        resources={"cpu": "1"},
        startup_command=None,
        request_id="req-1",
        at=T0,
    )


def test_request_records_one_event_and_is_pending() -> None:
    session = new_session()
    events = session.collect_events()
    assert [type(e) for e in events] == [SessionRequested]
    assert session.status is SessionStatus.PENDING
    assert session.id == session_id_for("alice", "req-1")
    assert session.created_on == T0


def test_cancel_then_replay_rebuilds_the_same_state() -> None:
    session = new_session()
    session.cancel("changed my mind", T0 + timedelta(seconds=5))
    events = session.collect_events()
    assert [type(e) for e in events] == [SessionRequested, SessionCancelled]
    replayed = Session.replay(events)
    assert replayed.status is SessionStatus.CANCELLED
    assert replayed.status_reason == "changed my mind"
    assert replayed.version == 2
    assert replayed.modified_on == T0 + timedelta(seconds=5)


def test_cancel_twice_is_refused_and_records_nothing() -> None:
    session = new_session()
    session.cancel("x", T0)
    session.collect_events()
    with pytest.raises(SessionStateError):
        session.cancel("again", T0)
    assert session.collect_events() == []
