"""A read model names the events it applies with ``@handles``; only those reach it."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar
from uuid import uuid4

import pytest

from events.agent import AgentLost
from events.session import SessionCancelled, SessionRequested
from projections.base import EventMeta, Projection, handles
from projections.batch import project_batch
from projections.positions import Position
from projections.read_store import SqliteReadStore, Tx
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings
from tests.unit.projections.fakes import cancelled, envelope, requested


class Cancellations(Projection):
    """Counts the cancellations it is given; no tables."""

    name: ClassVar[str] = "cancellations"
    tables: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        self.seen: list[EventMeta] = []

    def ddl(self, dialect: str) -> list[str]:
        return []

    @handles(SessionCancelled)
    def _cancelled(self, tx: Tx, event: SessionCancelled, meta: EventMeta) -> None:
        self.seen.append(meta)


def test_the_handlers_of_a_model_are_exactly_the_marked_event_types() -> None:
    assert set(Cancellations.handlers) == {SessionCancelled}
    assert SessionRequested in SessionView.handlers
    assert AgentLost not in SessionView.handlers


def test_two_handlers_for_one_event_type_in_one_class_are_refused() -> None:
    with pytest.raises(TypeError, match="handles SessionCancelled twice"):

        class Twice(Cancellations):
            @handles(SessionCancelled)
            def _one(self, tx: Tx, event: SessionCancelled, meta: EventMeta) -> None: ...

            @handles(SessionCancelled)
            def _other(self, tx: Tx, event: SessionCancelled, meta: EventMeta) -> None: ...


def test_a_subclass_handler_replaces_the_one_it_inherits() -> None:
    class Louder(Cancellations):
        @handles(SessionCancelled)
        def _cancelled_twice(self, tx: Tx, event: SessionCancelled, meta: EventMeta) -> None:
            self.seen += [meta, meta]

    assert Louder.handlers == {SessionCancelled: Louder._cancelled_twice}
    assert Cancellations.handlers == {SessionCancelled: Cancellations._cancelled}


def test_events_a_model_does_not_handle_move_its_position_without_reaching_it(
    tmp_path: Path,
) -> None:
    store = SqliteReadStore(ReadStoreSettings(sqlite_path=tmp_path / "rm.sqlite3"))
    model = Cancellations()
    session = uuid4()
    batch = [envelope(1, requested(session)), envelope(2, cancelled(session))]
    try:
        with store.transaction() as tx:
            outcome = project_batch(
                tx, [model], {model.name: Position()}, batch, now=lambda: "now"
            )[model.name]
    finally:
        store.close()

    assert outcome.position == Position(2, 2)
    assert outcome.applied == 2
    [meta] = model.seen
    assert (meta.notification_id, meta.stream_seq) == (2, 2)
    assert meta.aggregate_id == str(session)
    assert meta.at == cancelled(session).timestamp.isoformat()
