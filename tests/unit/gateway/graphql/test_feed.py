"""The change feed: one NATS subscription fanned out to listeners, news only, bounded."""

from __future__ import annotations

from typing import Any, cast

import pytest

from projections.changes import Change, ChangeAnnouncer
from services.gateway.graphql import feed as feed_module
from services.gateway.graphql.feed import ChangeFeed
from tests.unit.gateway.graphql.fakes import FakeNats


def change(nid: int, aggregate: str = "s") -> Change:
    return Change(nid, nid, "session", aggregate, "SessionRunning", nid)


async def test_listeners_of_a_model_get_its_changes_and_no_one_elses() -> None:
    nc = FakeNats()
    feed = ChangeFeed(cast(Any, nc))
    group = ChangeAnnouncer(cast(Any, nc), "read-models")
    rebuild = ChangeAnnouncer(cast(Any, nc), "agents")
    async with feed.listen("sessions") as one, feed.listen("sessions") as two:
        await group.announce({"sessions": 2, "agents": 2}, [change(1), change(2)])
        await rebuild.announce({"agents": 3}, [change(3)])
        for listener in (one, two):
            batch = await listener.next(1)
            assert [c.notification_id for c in batch.changes] == [1, 2]
            assert not batch.overflowed
    assert len(nc.subscriptions) == 1  # one NATS subscription for every listener


async def test_a_model_hears_only_of_changes_up_to_its_own_position() -> None:
    nc = FakeNats()
    feed = ChangeFeed(cast(Any, nc))
    group = ChangeAnnouncer(cast(Any, nc), "read-models")
    async with feed.listen("sessions") as sessions, feed.listen("agents") as agents:
        # agents was rebuilt up to 3 beside the group, which now moves both to 3
        await group.announce({"sessions": 3, "agents": 1}, [change(1), change(2), change(3)])
        assert [c.notification_id for c in (await sessions.next(1)).changes] == [1, 2, 3]
        assert [c.notification_id for c in (await agents.next(1)).changes] == [1]


async def test_a_rebuilds_replays_are_not_news() -> None:
    nc = FakeNats()
    feed = ChangeFeed(cast(Any, nc))
    sessions = ChangeAnnouncer(cast(Any, nc), "sessions")
    async with feed.listen("sessions") as listener:
        await sessions.announce({"sessions": 5}, [change(4), change(5)])
        await sessions.announce({"sessions": 2}, [change(1), change(2)])  # rebuilt from zero
        await sessions.announce({"sessions": 6}, [change(5), change(6)])
        batch = await listener.next(1)
    assert [c.notification_id for c in batch.changes] == [4, 5, 6]


async def test_a_listener_that_falls_behind_is_told_instead_of_growing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feed_module, "BACKLOG", 3)
    nc = FakeNats()
    feed = ChangeFeed(cast(Any, nc))
    sessions = ChangeAnnouncer(cast(Any, nc), "sessions")
    async with feed.listen("sessions") as listener:
        await sessions.announce({"sessions": 2}, [change(1), change(2)])
        await sessions.announce({"sessions": 4}, [change(3), change(4)])
        batch = await listener.next(1)
        assert batch.overflowed and batch.changes == []
        await sessions.announce({"sessions": 5}, [change(5)])
        batch = await listener.next(1)
        assert not batch.overflowed and [c.notification_id for c in batch.changes] == [5]


async def test_waiting_ends_after_the_timeout_with_nothing() -> None:
    feed = ChangeFeed(cast(Any, FakeNats()))
    async with feed.listen("sessions") as listener:
        batch = await listener.next(0.01)
    assert batch.changes == [] and not batch.overflowed
