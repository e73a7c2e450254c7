"""One batch of messages becomes rows, position and parked events, in one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from projections.base import Projection
from projections.batch import BatchOutcome, project_batch
from projections.envelope import Envelope
from projections.parking import install_parking, list_parked
from projections.positions import Position, install_positions
from projections.queries import Visibility, session_history, status_rows
from projections.read_store import ReadStore, Row, SqliteReadStore
from projections.session_events import SessionEvents
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings
from tests.unit.projections.fakes import FussySessionView, cancelled, envelope, raw, requested

ADMIN = Visibility(access_key="AKADMIN", user_id="admin", role="superadmin", domain="default")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ReadStore]:
    read_store = SqliteReadStore(ReadStoreSettings(sqlite_path=tmp_path / "rm.sqlite3"))
    yield read_store
    read_store.close()


def project(
    store: ReadStore,
    envelopes: list[Envelope],
    position: Position = Position(),  # noqa: B008 (immutable)
    projection: Projection | None = None,
    isolate: bool = False,
) -> BatchOutcome:
    model = projection or SessionView()
    with store.transaction() as tx:
        install_positions(tx)
        install_parking(tx)
        model.install(tx)
    with store.transaction() as tx:
        return project_batch(
            tx,
            [model],
            {model.name: position},
            envelopes,
            now=lambda: "2030-01-01T00:00:00+00:00",
            isolate=isolate,
        )[model.name]


def rows(store: ReadStore, sql: str) -> list[Row]:
    with store.transaction() as tx:
        return tx.fetchall(sql)


def test_a_requested_then_cancelled_session_shows_cancelled_with_its_history(
    store: ReadStore,
) -> None:
    session = uuid4()
    outcome = project(store, [envelope(1, requested(session)), envelope(2, cancelled(session))])

    assert outcome.applied == 2
    assert outcome.position == Position(2, 2)
    [view] = rows(
        store,
        "SELECT id, name, status, status_reason, resources, version, created_at,"
        " updated_at FROM session_view",
    )
    assert view[:4] == (str(session), "train", "CANCELLED", "not needed")
    assert json.loads(view[4]) == {"cpu": "2", "mem": str(1 << 30)}
    assert view[5] == 2
    assert view[6] < view[7]


def test_the_status_history_is_read_from_the_sessions_event_log(store: ReadStore) -> None:
    session, other = uuid4(), uuid4()
    sessions, history = SessionView(), SessionEvents()
    batch = [
        envelope(1, requested(session)),
        envelope(2, requested(other, "other")),
        envelope(3, cancelled(session)),
    ]
    project_group(
        store, [sessions, history], {sessions.name: Position(), history.name: Position()}, batch
    )

    with store.transaction() as tx:
        statuses = status_rows(tx, [str(session), str(other)])
        later = status_rows(tx, [str(session)], after_version=1)
        history_of = session_history(tx, str(session), visible_to=ADMIN)
    assert [(r.session_id, r.version, r.status, r.reason) for r in statuses] == sorted(
        [
            (str(session), 1, "PENDING", "requested"),
            (str(session), 2, "CANCELLED", "not needed"),
            (str(other), 1, "PENDING", "requested"),
        ]
    )
    assert [(r.version, r.status) for r in later] == [(2, "CANCELLED")]
    assert history_of is not None
    assert [(c.status, c.reason) for c in history_of] == [
        ("PENDING", "requested"),
        ("CANCELLED", "not needed"),
    ]


def test_messages_the_tables_already_hold_are_passed_over(store: ReadStore) -> None:
    first, second = uuid4(), uuid4()
    batch = [envelope(1, requested(first, "a")), envelope(2, requested(second, "b"))]
    outcome = project(store, batch)

    again = project(store, [*batch, envelope(3, cancelled(first))], position=outcome.position)

    assert (again.skipped, again.applied) == (2, 1)
    assert again.position == Position(3, 3)
    assert rows(store, "SELECT name, status FROM session_view ORDER BY name") == [
        ("a", "CANCELLED"),
        ("b", "PENDING"),
    ]


def test_a_rebuilt_stream_moves_the_position_hint_to_the_new_sequence(store: ReadStore) -> None:
    session = uuid4()
    # Notification 7 now sits at stream seq 3; the tables already hold it.
    outcome = project(store, [envelope(3, requested(session), nid=7)], position=Position(7, 40))
    assert outcome.position == Position(7, 3)
    assert outcome.applied == 0


def test_undecodable_messages_are_parked_with_their_reason_and_the_rest_applied(
    store: ReadStore,
) -> None:
    session = uuid4()
    outcome = project(
        store,
        [
            raw(1, "session.SessionTeleported@1", b"{}"),
            raw(2, "session.SessionCancelled@9", b"{}"),
            raw(3, "session.SessionRequested@1", b"\xff\xfe not json"),
            raw(4, None, b"{}"),
            raw(5, "session.SessionRequested@1", b"{}", nid=None),
            envelope(6, requested(session)),
        ],
    )

    assert outcome.applied == 1
    assert outcome.position == Position(6, 6)
    parked = list_parked(store, "sessions")
    assert [(p.stream_seq, p.reason) for p in parked] == [
        (1, "unknown-type"),
        (2, "newer-version"),
        (3, "corrupt-payload"),
        (4, "no-topic"),
        (5, "no-notification-id"),
    ]
    assert parked[2].payload == b"\xff\xfe not json"
    assert rows(store, "SELECT id FROM session_view") == [(str(session),)]


def test_parking_the_same_message_twice_keeps_one_record(store: ReadStore) -> None:
    bad = raw(1, "session.SessionTeleported@1", b"{}")
    project(store, [bad])
    project(store, [bad])
    assert len(list_parked(store)) == 1


def test_a_failing_batch_fails_whole_unless_isolated(store: ReadStore) -> None:
    good, bad = uuid4(), uuid4()
    batch = [envelope(1, requested(good, "fine")), envelope(2, requested(bad, "poison"))]
    with pytest.raises(ValueError, match="poison"):
        project(store, batch, projection=FussySessionView())
    assert rows(store, "SELECT count(*) FROM session_view") == [(0,)]

    outcome = project(store, batch, projection=FussySessionView(), isolate=True)

    assert outcome.applied == 1
    assert outcome.position == Position(2, 2)
    assert rows(store, "SELECT name FROM session_view") == [("fine",)]
    [parked] = list_parked(store, "fussy")
    assert (parked.notification_id, parked.reason) == (2, "apply-failed")
    assert "cannot handle poison" in parked.detail


def project_group(
    store: ReadStore,
    models: list[Projection],
    positions: dict[str, Position],
    envelopes: list[Envelope],
    isolate: bool = False,
) -> dict[str, BatchOutcome]:
    with store.transaction() as tx:
        install_positions(tx)
        install_parking(tx)
        for model in models:
            model.install(tx)
    with store.transaction() as tx:
        return project_batch(tx, models, positions, envelopes, now=lambda: "now", isolate=isolate)


def test_models_of_a_group_each_take_the_events_beyond_their_own_position(
    store: ReadStore,
) -> None:
    first, second = uuid4(), uuid4()
    sessions, history = SessionView(), SessionEvents()
    batch = [envelope(1, requested(first, "a")), envelope(2, requested(second, "b"))]

    outcomes = project_group(
        store,
        [sessions, history],
        {sessions.name: Position(), history.name: Position(1, 1)},
        batch,
    )

    assert (outcomes["sessions"].applied, outcomes["sessions"].skipped) == (2, 0)
    assert (outcomes[history.name].applied, outcomes[history.name].skipped) == (1, 1)
    assert outcomes["sessions"].position == outcomes[history.name].position == Position(2, 2)
    assert rows(store, "SELECT name FROM session_view ORDER BY name") == [("a",), ("b",)]
    assert rows(store, "SELECT session_id FROM session_event_log") == [(str(second),)]


def test_an_undecodable_message_is_parked_for_each_model_that_needed_it(store: ReadStore) -> None:
    sessions, history = SessionView(), SessionEvents()
    bad = raw(2, "session.SessionTeleported@1", b"{}")

    outcomes = project_group(
        store,
        [sessions, history],
        {sessions.name: Position(), history.name: Position(2, 2)},
        [bad],
    )

    assert [p.projection for p in list_parked(store)] == ["sessions"]
    assert outcomes["sessions"].position == Position(2, 2)
    assert outcomes[history.name].skipped == 1


def test_an_isolated_failure_parks_the_event_for_the_failing_model_alone(
    store: ReadStore,
) -> None:
    good, bad = uuid4(), uuid4()
    fussy, history = FussySessionView(), SessionEvents()
    batch = [envelope(1, requested(good, "fine")), envelope(2, requested(bad, "poison"))]
    positions = {fussy.name: Position(), history.name: Position()}
    with pytest.raises(ValueError, match="poison"):
        project_group(store, [fussy, history], positions, batch)

    outcomes = project_group(store, [fussy, history], positions, batch, isolate=True)

    assert (outcomes["fussy"].applied, len(outcomes["fussy"].parked)) == (1, 1)
    assert (outcomes[history.name].applied, outcomes[history.name].parked) == (2, [])
    assert rows(store, "SELECT count(*) FROM session_event_log") == [(2,)]
    assert [(p.projection, p.notification_id) for p in list_parked(store)] == [("fussy", 2)]


def test_models_that_stand_together_move_as_one_exactly_as_each_on_its_own(
    tmp_path: Path,
) -> None:
    """A group whose models share a position takes the batch in one step; the outcome and
    the tables are those of taking each model on its own (isolated)."""
    first, second = uuid4(), uuid4()
    batch = [
        envelope(4, requested(first, "held already")),  # at or below the position: passed over
        envelope(6, requested(first, "a")),
        raw(7, "session.SessionTeleported@1", b"{}"),
        raw(8, None, b"{}"),
        raw(9, "session.SessionRequested@1", b"{}", nid=None),
        envelope(10, requested(second, "b")),
        envelope(11, cancelled(first)),
    ]
    position = Position(5, 5)
    seen = []
    for isolate in (False, True):
        store = SqliteReadStore(ReadStoreSettings(sqlite_path=tmp_path / f"{isolate}.sqlite3"))
        models: list[Projection] = [SessionView(), SessionEvents()]
        outcomes = project_group(
            store, models, {m.name: position for m in models}, batch, isolate=isolate
        )
        seen.append(
            (
                {
                    name: (o.position, o.applied, o.skipped, [p.stream_seq for p in o.parked])
                    for name, o in outcomes.items()
                },
                rows(store, "SELECT name, status, version FROM session_view ORDER BY name"),
                rows(store, "SELECT notification_id, event_type FROM session_event_log"),
                [(p.projection, p.stream_seq, p.reason) for p in list_parked(store)],
            )
        )
        store.close()

    together, each = seen
    assert together == each
    assert together[0]["sessions"] == (Position(11, 11), 3, 1, [7, 8, 9])
    assert together[1] == [("a", "CANCELLED", 2), ("b", "PENDING", 1)]
