"""The relay is woken by a save, not by its poll timer.

With a poll interval far longer than any wake-up takes, an event that reaches
the stream before the interval is over can only have been relayed because the
relay was woken: on PostgreSQL by LISTEN/NOTIFY even when another process (here
another store instance, which has no in-process link to the relay) saved it, on
SQLite in-process by the store itself. Each event is saved only after the one
before it is on the stream, so the relay has gone back to waiting every time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import Notification
from nats.aio.client import Client as NATS
from nats.aio.subscription import Subscription

from events.relay import Relay, StoredNotification
from events.streams import ensure_streams
from events.subjects import EVENTS_WILDCARD, MSG_ID_HEADER
from services.manager.domain.session import Session
from services.manager.relay_runner import run_relay
from services.manager.settings import StoreSettings
from services.manager.store import EventStore, SaveListener
from tests.factories import requested_session

#: far longer than a wake-up takes, so an event that arrives sooner was woken for
POLL_INTERVAL = 10.0
#: a generous margin below the poll interval, for a busy machine
WAKE_DEADLINE = POLL_INTERVAL / 2
EVENTS = 5

Arrivals = list[tuple[int, float]]


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> StoreSettings:
    return StoreSettings(backend="sqlite", sqlite_path=tmp_path / "events.sqlite3")


async def test_postgres_relay_wakes_on_a_save_by_another_process(
    pg_database: str, nc: NATS
) -> None:
    settings = StoreSettings(backend="postgres", pg_dsn=pg_database)
    with EventStore(settings) as relay_store, EventStore(settings) as other_process:
        async with running_relay(relay_store, nc, POLL_INTERVAL) as events:
            await listening(pg_database)
            arrivals = await save_one_by_one(other_process, events)
    assert_woken(arrivals)


async def test_sqlite_relay_wakes_on_a_save_in_its_process(
    sqlite_settings: StoreSettings, nc: NATS
) -> None:
    with EventStore(sqlite_settings) as store:
        async with running_relay(store, nc, POLL_INTERVAL) as events:
            arrivals = await save_one_by_one(store, events)
    assert_woken(arrivals)


async def test_sqlite_relay_polls_for_saves_by_another_process(
    sqlite_settings: StoreSettings, nc: NATS
) -> None:
    with EventStore(sqlite_settings) as relay_store, EventStore(sqlite_settings) as other:
        async with running_relay(relay_store, nc, poll_interval=0.2) as events:
            arrivals = await save_one_by_one(other, events)
    assert [notification_id for notification_id, _ in arrivals] == list(range(1, EVENTS + 1))


async def test_a_save_while_the_relay_reads_is_not_missed(
    sqlite_settings: StoreSettings, nc: NATS
) -> None:
    # The unlucky moment, made certain: a save commits (and wakes the relay)
    # just after the relay has read the store, before it goes back to waiting.
    with EventStore(sqlite_settings) as store:
        log = SavesDuringRead(store)
        relay = Relay(log, nc, poll_interval=POLL_INTERVAL)
        # Woken only, not offered the notifications: the relay reads every one of them.
        store.on_saved(lambda _notifications: relay.wake())
        await ensure_streams(nc.jetstream())
        events = await nc.subscribe(EVENTS_WILDCARD)
        store.save(new_session(0))
        log.save_during_next_read = new_session(1)
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        try:
            first = await events.next_msg(timeout=POLL_INTERVAL * 3)
            woken_at = time.monotonic()
            second = await events.next_msg(timeout=POLL_INTERVAL * 3)
            waited = time.monotonic() - woken_at
        finally:
            stop.set()
            await asyncio.wait_for(running, 30)
    assert [(msg.headers or {})[MSG_ID_HEADER] for msg in (first, second)] == ["1", "2"]
    assert waited < WAKE_DEADLINE, f"the second event waited {waited:.1f}s for the poll"


async def test_saves_in_the_relays_process_go_out_from_memory_and_the_rest_from_the_store(
    sqlite_settings: StoreSettings, nc: NATS
) -> None:
    with EventStore(sqlite_settings) as store, EventStore(sqlite_settings) as other_process:
        async with offered_relay(store, nc, poll_interval=0.05) as (relay, events):
            # One save by another process: the relay is not offered it.
            ids = [
                await save_and_see(other_process if n == 3 else store, n, events) for n in range(6)
            ]
    assert ids == list(range(1, 7))
    assert relay.published == 6
    # The save by another process comes from the store; so may the first one, offered
    # before the relay knew where the stream stood. The others go out as offered.
    assert relay.from_store >= 1 and relay.from_memory >= 4
    assert relay.from_memory + relay.from_store == 6


async def test_a_relay_woken_before_its_process_offers_a_save_waits_for_the_offer(
    sqlite_settings: StoreSettings, nc: NATS
) -> None:
    # As on PostgreSQL, where the commit's NOTIFY can wake the relay before the save has
    # offered what it stored: here the save itself wakes it first, and offers a moment later.
    def wake_then_offer(relay: Relay) -> SaveListener:
        def listener(notifications: Sequence[StoredNotification]) -> None:
            relay.wake()
            time.sleep(0.3)  # the relay's pass finds nothing offered, the save under way
            relay.offer(notifications)

        return listener

    with EventStore(sqlite_settings) as store:
        async with offered_relay(store, nc, POLL_INTERVAL, listener=wake_then_offer) as (
            relay,
            events,
        ):
            ids = [await save_and_see(store, n, events) for n in range(4)]
    assert ids == [1, 2, 3, 4]
    # Every pass woken early waited for the offer, and nothing was read back from the store.
    assert (relay.from_memory, relay.from_store) == (4, 0)
    assert relay.waits_for_offer >= 3


async def test_a_relay_offered_more_than_it_may_hold_reads_the_store_instead(
    sqlite_settings: StoreSettings, nc: NATS
) -> None:
    with EventStore(sqlite_settings) as store:
        relay = Relay(store.app_recorder, nc, poll_interval=POLL_INTERVAL)  # type: ignore[arg-type]
        relay.OFFER_LIMIT = 2
        store.on_saved(relay.offer)
        await ensure_streams(nc.jetstream())
        events = await nc.subscribe(EVENTS_WILDCARD)
        store.save(new_session(0))
        store.save(new_session(1), new_session(2))  # 3 offered: more than 2, all dropped
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        try:
            arrived = [await events.next_msg(timeout=POLL_INTERVAL) for _ in range(3)]
        finally:
            stop.set()
            await asyncio.wait_for(running, 30)
    assert [(m.headers or {})[MSG_ID_HEADER] for m in arrived] == ["1", "2", "3"]
    assert (relay.from_memory, relay.from_store) == (0, 3)


class SavesDuringRead:
    """The store's notification log, saving one more session right after a read."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self.save_during_next_read: Session | None = None

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None
    ) -> Sequence[Notification]:
        found = self._store.app_recorder.select_notifications(start, limit, stop)
        if self.save_during_next_read is not None and found:
            session, self.save_during_next_read = self.save_during_next_read, None
            self._store.save(session)
        return found


@asynccontextmanager
async def offered_relay(
    store: EventStore,
    nc: NATS,
    poll_interval: float,
    *,
    listener: Callable[[Relay], SaveListener] = lambda relay: relay.offer,
) -> AsyncIterator[tuple[Relay, Subscription]]:
    """A relay in ``store``'s process, told of its saves by ``listener(relay)`` (offered them,
    by default); yields it with a plain subscription to what it publishes."""
    relay = Relay(
        store.app_recorder,  # type: ignore[arg-type]
        nc,
        poll_interval=poll_interval,
        saving=store.saving,
    )
    store.on_saved(listener(relay))
    await ensure_streams(nc.jetstream())
    events = await nc.subscribe(EVENTS_WILDCARD)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        yield relay, events
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await events.unsubscribe()


async def save_and_see(saver: EventStore, n: int, events: Subscription) -> int:
    """Save session ``n`` (in a thread, as the manager saves) and wait until it is on the
    stream; its notification id."""
    (saved,) = await asyncio.to_thread(saver.save, new_session(n))
    msg = await events.next_msg(timeout=POLL_INTERVAL)
    assert (msg.headers or {})[MSG_ID_HEADER] == str(saved.notification.id)
    return saved.notification.id


@asynccontextmanager
async def running_relay(
    store: EventStore, nc: NATS, poll_interval: float
) -> AsyncIterator[Subscription]:
    """A relay in this process; yields a plain subscription to what it publishes."""
    events = await nc.subscribe(EVENTS_WILDCARD)
    stop = asyncio.Event()
    relay = asyncio.create_task(run_relay(store, nc, stop, poll_interval=poll_interval))
    try:
        yield events
    finally:
        stop.set()
        await asyncio.wait_for(relay, 30)
        await events.unsubscribe()


async def listening(dsn: str, timeout: float = 30.0) -> None:
    """Until the relay's LISTEN connection is up: a NOTIFY sent before it would be lost."""
    deadline = time.monotonic() + timeout
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND query ILIKE 'LISTEN %'"
    )
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        while True:
            row = await (await conn.execute(query)).fetchone()
            if row is not None and row[0] > 0:
                return
            assert time.monotonic() < deadline, "the relay never started listening"
            await asyncio.sleep(0.05)


async def save_one_by_one(store: EventStore, events: Subscription) -> Arrivals:
    """Save EVENTS sessions, each once the last is on the stream; how long each took."""
    arrivals: Arrivals = []
    for i in range(EVENTS):
        await asyncio.to_thread(store.save, new_session(i))
        saved = time.monotonic()
        # Longer than the poll interval: a missed wake-up shows as a slow arrival.
        msg = await events.next_msg(timeout=POLL_INTERVAL * 3)
        arrivals.append((int((msg.headers or {})[MSG_ID_HEADER]), time.monotonic() - saved))
    return arrivals


def new_session(i: int) -> Session:
    return requested_session(
        name=f"wake-{i}",
        access_key="relay-wakeup-test",
        image="busybox",
        session_type="interactive",
        resources={"cpu": "1"},
        startup_command=None,
        request_id=uuid4().hex,
        at=datetime.now(UTC),
    )


def assert_woken(arrivals: Arrivals) -> None:
    assert [notification_id for notification_id, _ in arrivals] == list(range(1, EVENTS + 1))
    late = [(i, round(seconds, 2)) for i, seconds in arrivals if seconds >= WAKE_DEADLINE]
    assert late == [], f"relayed only by the {POLL_INTERVAL}s poll, not woken: {late}"
