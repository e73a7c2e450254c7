"""The event backbone the projection tests feed from: a real event store and relay.

Sessions are stored in batches with deterministic names and times, so two runs
that store the same calls produce the same rows; the relay runs in the test's
own event loop and is woken after each save.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError

from events.relay import Relay, stream_position
from projections.base import Projection
from projections.read_store import Row, open_read_store
from projections.runner import ProjectionRunner
from projections.settings import ReadStoreSettings
from services.manager.domain.session import Session
from services.manager.store import EventStore
from tests.factories import requested_session

EPOCH = datetime(2030, 1, 1, tzinfo=UTC)


class Backbone:
    def __init__(self, store: EventStore, nc: NATS) -> None:
        self.store = store
        self.nc = nc
        self.relay = Relay(store.app_recorder, nc, batch_size=500)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._requested = 0

    async def start(self) -> None:
        self.store.on_saved(self.relay.offer)
        self._stop.clear()
        self._task = asyncio.create_task(self.relay.run(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    def request_sessions(self, count: int, *, cancel_every: int = 0) -> list[Session]:
        """Store ``count`` session requests (and a cancellation of every n-th), 100 per save."""
        sessions: list[Session] = []
        for first in range(0, count, 100):
            batch = []
            for i in range(first, min(first + 100, count)):
                n = self._requested + i
                at = EPOCH + timedelta(seconds=n)
                session = requested_session(
                    name=f"session-{n}",
                    access_key=f"user-{n % 7}",
                    image="busybox",
                    session_type="batch" if n % 2 else "interactive",
                    resources={"cpu": str(1 + n % 4), "mem": f"{64 * (1 + n % 3)}m"},
                    startup_command=None,
                    request_id=f"request-{n}",
                    at=at,
                )
                if cancel_every and n % cancel_every == 0:
                    session.cancel(f"withdrawn {n}", at + timedelta(milliseconds=500))
                batch.append(session)
            self.store.save(*batch)
            sessions.extend(batch)
        self._requested += count
        return sessions

    async def relay_sessions(self, count: int, *, cancel_every: int = 0) -> int:
        """:meth:`request_sessions`, then :meth:`relayed`: the last notification id."""
        self.request_sessions(count, cancel_every=cancel_every)
        return await self.relayed()

    async def relayed(self, timeout: float = 60.0) -> int:
        """Wait until the stream holds everything stored; returns the last notification id."""
        target = self.store.max_notification_id()
        js = self.nc.jetstream(timeout=1.0)

        async def caught_up() -> None:
            while True:
                try:
                    if (await stream_position(js)).notification_id >= target:
                        return
                except NatsError:
                    pass  # reconnecting after a server restart
                await asyncio.sleep(0.02)

        await asyncio.wait_for(caught_up(), timeout)
        return target


def dump_model(settings: ReadStoreSettings, projection: Projection) -> dict[str, list[Row]]:
    store = open_read_store(settings)
    try:
        with store.transaction(pipelined=False) as tx:
            return projection.dump(tx)
    finally:
        store.close()


def query(settings: ReadStoreSettings, sql: str, *params: Any) -> list[Row]:
    store = open_read_store(settings)
    try:
        with store.transaction(pipelined=False) as tx:
            return tx.fetchall(sql, params)
    finally:
        store.close()


@asynccontextmanager
async def projecting(
    settings: ReadStoreSettings, nc: NATS, models: Sequence[Projection], **options: Any
) -> AsyncIterator[ProjectionRunner]:
    """A runner of ``models`` on a read-store connection of its own, running for the block;
    ``options`` go to :class:`ProjectionRunner`. Stopped, and its store closed, at the end."""
    store = open_read_store(settings)
    runner = ProjectionRunner(list(models), store, nc, **options)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        yield runner
    finally:
        stop.set()
        await task
        store.close()
