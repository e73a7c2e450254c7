"""A runner's group of read models: named, each model once, and its position the lowest."""

from __future__ import annotations

from typing import Any, cast

import pytest

from projections.positions import Position
from projections.read_store import ReadStore
from projections.runner import ProjectionRunner
from projections.session_events import SessionEvents
from projections.sessions import SessionView


class FakeNats:
    def jetstream(self) -> object:
        return object()


def runner(*models: Any, name: str | None = None) -> ProjectionRunner:
    store = cast(ReadStore, object())
    return ProjectionRunner(list(models), store, cast(Any, FakeNats()), name=name)


def test_a_group_of_one_is_named_after_its_model_and_reads_its_consumer() -> None:
    alone = runner(SessionView())
    assert (alone.name, alone.consumer) == ("sessions", "proj-sessions")


def test_a_group_of_several_needs_a_name_and_each_model_once() -> None:
    with pytest.raises(ValueError, match="needs a name"):
        runner(SessionView(), SessionEvents())
    with pytest.raises(ValueError, match="named twice"):
        runner(SessionView(), SessionView(), name="twice")
    with pytest.raises(ValueError, match="at least one"):
        runner(name="empty")
    group = runner(SessionView(), SessionEvents(), name="read-models")
    assert group.consumer == "proj-read-models"


def test_the_group_position_is_its_lowest_model_position() -> None:
    group = runner(SessionView(), SessionEvents(), name="read-models")
    group.positions = {"sessions": Position(40, 41), "session_events": Position(7, 8)}
    assert group.position == Position(7, 8)
