"""How events are shown (decoded or not) and how tail's filters become a subject."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from events import codec
from events.session import SessionCancelled
from services.manager.audit.event_view import describe
from services.manager.audit.tail import FilterError, TailFilter, aggregate_of

AGGREGATE = UUID("0b9d8b43-2a1f-4e0e-9d59-6c0f5c1d7e21")


def test_a_decodable_event_shows_its_own_fields() -> None:
    event = SessionCancelled(
        originator_id=AGGREGATE,
        originator_version=2,
        timestamp=datetime(2030, 1, 1, tzinfo=UTC),
        reason="no longer needed",
    )
    view = describe(*codec.encode(event))
    assert view.fields == {"reason": "no longer needed"}
    assert view.timestamp == event.timestamp
    assert view.summary() == "reason='no longer needed'"
    assert view.summary(10) == "reason='n…"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("session.SessionVanished@1", b"{}", "unknown-type"),
        ("session.SessionCancelled@99", b"{}", "newer-version"),
        ("session.SessionCancelled@1", b"{oops", "corrupt-payload"),
        (None, b"{}", "no-topic"),
    ],
)
def test_an_undecodable_event_shows_why(topic: str | None, payload: bytes, reason: str) -> None:
    view = describe(topic, payload)
    assert view.fields is None and view.error == reason
    assert view.to_json()["error"] == reason
    assert view.summary().startswith(f"<{reason}>")


@pytest.mark.parametrize(
    ("tail_filter", "subject"),
    [
        (TailFilter(), "berth.ev.*.*.*"),
        (TailFilter(kind="session"), "berth.ev.session.*.*"),
        (TailFilter(aggregate_id=AGGREGATE), f"berth.ev.*.{AGGREGATE}.*"),
        (TailFilter(event_type="SessionCancelled"), "berth.ev.*.*.SessionCancelled"),
        (TailFilter(event_type="session.SessionCancelled"), "berth.ev.session.*.SessionCancelled"),
    ],
)
def test_filters_become_a_subject(tail_filter: TailFilter, subject: str) -> None:
    assert tail_filter.subject() == subject


@pytest.mark.parametrize(
    "tail_filter",
    [
        TailFilter(kind="agent", event_type="session.SessionCancelled"),
        TailFilter(kind="ses*"),
        TailFilter(event_type="a b"),
        TailFilter(kind=""),
    ],
)
def test_filters_that_are_not_subject_tokens_are_refused(tail_filter: TailFilter) -> None:
    with pytest.raises(FilterError):
        tail_filter.subject()


def test_the_aggregate_id_is_read_from_the_subject() -> None:
    assert aggregate_of(f"berth.ev.session.{AGGREGATE}.SessionCancelled") == str(AGGREGATE)
    assert aggregate_of("berth.ev.stray") == ""
