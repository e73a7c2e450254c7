from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from events.commands import CancelSession, RequestSession
from services.manager import handlers
from services.manager.settings import StoreSettings
from services.manager.store import EventStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store() -> Iterator[EventStore]:
    with EventStore(StoreSettings(backend="memory")) as store:
        yield store


def request(**overrides: object) -> RequestSession:
    fields: dict[str, object] = {
        "request_id": "r1",
        "name": "demo",
        "owner": "alice",
        "image": "python",
        "resources": {"cpu": "2", "mem": "1073741824"},
    }
    fields.update(overrides)
    return RequestSession(**fields)  # type: ignore[arg-type]


def test_request_is_stored_and_repeats_are_answered_once(store: EventStore) -> None:
    first = handlers.request_session(store, request(), NOW)
    again = handlers.request_session(store, request(), NOW)
    assert first.ok and first.notification_id == 1
    assert again.ok and again.duplicate and again.session_id == first.session_id
    assert store.max_notification_id() == 1


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"name": ""}, "invalid-name"),
        ({"name": "a b"}, "invalid-name"),
        ({"request_id": ""}, "invalid-request-id"),
        ({"owner": ""}, "invalid-owner"),
        ({"image": ""}, "invalid-image"),
        ({"session_type": "batch"}, "missing-startup-command"),
        ({"resources": {"cpu": "-1"}}, "invalid-resources"),
        ({"resources": {"cpu": "lots"}}, "invalid-resources"),
        ({"resources": {"CPU!": "1"}}, "invalid-resources"),
        ({"resources": {"cpu": "NaN"}}, "invalid-resources"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(
    store: EventStore, overrides: dict[str, object], code: str
) -> None:
    with pytest.raises(handlers.CommandRefused) as info:
        handlers.request_session(store, request(**overrides), NOW)
    assert info.value.code == code
    assert store.max_notification_id() == 0


def test_only_the_owner_can_cancel(store: EventStore) -> None:
    created = handlers.request_session(store, request(), NOW)
    assert created.session_id is not None
    with pytest.raises(handlers.CommandRefused) as info:
        handlers.cancel_session(
            store, CancelSession(request_id="c1", session_id=created.session_id, owner="eve"), NOW
        )
    assert info.value.code == "session-not-found"
    assert store.max_notification_id() == 1
    cancelled = handlers.cancel_session(
        store, CancelSession(request_id="c2", session_id=created.session_id, owner="alice"), NOW
    )
    assert cancelled.ok and cancelled.notification_id == 2
