"""What a save stores and the notification ids it hands on, on both backends alike."""

from __future__ import annotations

import msgspec
import pytest
from eventsourcing.persistence import IntegrityError

from events import codec
from events.base import DomainEvent
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.bench.writer import new_sessions


def test_saves_return_the_ids_the_log_holds_with_the_events_as_encoded(
    store_settings: StoreSettings,
) -> None:
    with EventStore(store_settings) as store:
        handed_on: list[int] = []
        store.on_saved(lambda notifications: handed_on.extend(n.id for n in notifications))
        expected = []
        returned = []
        for size in (1, 3, 100, 2):
            sessions = new_sessions(size)
            events = [event for session in sessions for event in session._pending]
            expected += [(e.originator_id, e.originator_version, *codec.encode(e)) for e in events]
            returned += [r.notification.id for r in store.save(*sessions)]

        logged = store.app_recorder.select_notifications(1, 1000)
        assert [n.id for n in logged] == returned == handed_on == list(range(1, 107))
        assert [(n.originator_id, n.originator_version, n.topic, n.state) for n in logged] == (
            expected
        )
        assert {type(n.state) for n in logged} == {bytes}


def test_a_conflicting_save_stores_nothing(
    store_settings: StoreSettings,
) -> None:
    with EventStore(store_settings) as store:
        first, second = new_sessions(2)
        taken, requested = first._pending[0], list(second._pending)
        store.save(first)
        # ``second`` is new; the other event claims version 1 of ``first`` again.
        clash = _Recorded([msgspec.structs.replace(taken, name="again")])
        with pytest.raises(IntegrityError):
            store.save(second, clash)
        assert [n.id for n in store.app_recorder.select_notifications(1, 10)] == [1]
        (saved,) = [r.notification.id for r in store.save(_Recorded(requested))]
        assert [n.id for n in store.app_recorder.select_notifications(1, 10)] == [1, saved]
        # SQLite numbers the next row on from the last; PostgreSQL's sequence has moved on
        # past the numbers the refused save drew.
        assert saved == 2 if store_settings.backend == "sqlite" else saved > 2


class _Recorded:
    """An aggregate that has recorded ``events``, whatever they say."""

    def __init__(self, events: list[DomainEvent]) -> None:
        self._events = events

    def collect_events(self) -> list[DomainEvent]:
        events, self._events = self._events, []
        return events


def test_a_save_of_no_events_stores_its_tracking_record_alone(
    store_settings: StoreSettings,
) -> None:
    with EventStore(store_settings) as store:
        told: list[int] = []
        store.on_saved(lambda notifications: told.append(len(notifications)))
        assert store.save_aggregates([_Recorded([])], tracking=("facts", 7)) == []
        assert store.save_aggregates([]) == []
        assert store.tracked_position("facts") == 7
        assert store.max_notification_id() == 0
        assert told == []
