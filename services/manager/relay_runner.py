"""Runs the relay against the configured store, woken the right way for its backend.

- In the manager process with SQLite: woken in-process after each save
  (:meth:`EventStore.on_saved`), and polling as a fallback for writes made by
  other processes.
- With PostgreSQL: also woken by the ``NOTIFY`` each insert sends on the event
  table's channel, which a thread of its own ``LISTEN``s to on a connection of its
  own: saves by other processes wake it at once. The notifications themselves
  are only a wake-up; the relay reads the log once, itself.
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


def _listen_postgres(store: EventStore, relay: Relay, stop: threading.Event) -> None:
    import psycopg

    channel = store.app_recorder.channel_name  # type: ignore[attr-defined]
    while not stop.is_set():
        try:
            with psycopg.connect(store.settings.pg_dsn, autocommit=True) as conn:
                conn.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(channel)))
                relay.wake()  # anything saved while not listening
                while not stop.is_set():
                    # At most 0.1 s per wait, so that a stop is noticed.
                    for _ in conn.notifies(timeout=0.1, stop_after=1):
                        relay.wake()
        except psycopg.Error as exc:
            log.warning("relay: listening for new events failed (%s); listening again", exc)
            stop.wait(1.0)


async def run_relay(
    store: EventStore, nc: NATS, stop: asyncio.Event, **relay_options: float
) -> Relay:
    await ensure_streams(nc.jetstream())
    relay = Relay(store.app_recorder, nc, saving=store.saving, **relay_options)  # type: ignore[arg-type]
    store.on_saved(relay.offer)
    follower: threading.Thread | None = None
    follower_stop = threading.Event()
    if store.settings.backend == "postgres":
        follower = threading.Thread(
            target=_listen_postgres, args=(store, relay, follower_stop), daemon=True
        )
        follower.start()
    try:
        await relay.run(stop)
    finally:
        follower_stop.set()
        if follower is not None:
            await asyncio.to_thread(follower.join, 5)
    return relay
