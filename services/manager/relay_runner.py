"""Runs the relay against the configured store, woken the right way for its backend.

- In the manager process with SQLite: woken in-process after each save
  (:meth:`EventStore.on_saved`), and polling as a fallback for writes made by
  other processes.
- With PostgreSQL: woken by LISTEN/NOTIFY through the library's ``subscribe``,
  which follows the log in a thread of its own.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from nats.aio.client import Client as NATS

from events.relay import Relay
from events.streams import ensure_streams
from services.manager.store import EventStore

log = logging.getLogger("berth.relay")


def _follow_postgres(store: EventStore, relay: Relay, stop: threading.Event) -> None:
    start = store.max_notification_id()
    with store.app_recorder.subscribe(gt=start) as subscription:

        def stop_when_asked() -> None:
            stop.wait()
            subscription.stop()

        threading.Thread(target=stop_when_asked, daemon=True).start()
        for notification in subscription:
            relay.wake(notification.id)


async def run_relay(
    store: EventStore, nc: NATS, stop: asyncio.Event, **relay_options: float
) -> Relay:
    await ensure_streams(nc.jetstream())
    relay = Relay(store.app_recorder, nc, **relay_options)  # type: ignore[arg-type]
    store.on_saved(relay.wake)
    follower: threading.Thread | None = None
    follower_stop = threading.Event()
    if store.settings.backend == "postgres":
        follower = threading.Thread(
            target=_follow_postgres, args=(store, relay, follower_stop), daemon=True
        )
        follower.start()
    try:
        await relay.run(stop)
    finally:
        follower_stop.set()
        if follower is not None:
            await asyncio.to_thread(follower.join, 5)
    return relay
