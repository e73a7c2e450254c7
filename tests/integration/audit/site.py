"""What the audit tests stand on: a store filled with sessions, the real relay, the CLI.

The CLI runs in-process through Typer's test runner with the same ``BERTH_*``
environment a user would set, so each test exercises the settings, the store
on its backend and the stream exactly as ``berth events …`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
from typer.testing import CliRunner, Result

from cli.main import app
from events.relay import Relay
from events.streams import StreamDurability, ensure_streams
from events.subjects import MSG_ID_HEADER, TOPIC_HEADER, event_subject
from services.manager.domain.session import Session
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.factories import requested_session

EPOCH = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Site:
    """One event store and the nats-server its relay publishes to."""

    settings: StoreSettings
    nats_url: str
    data_dir: Path

    def env(self) -> dict[str, str]:
        env = {
            "BERTH_STORE": self.settings.backend,
            "BERTH_NATS_URL": self.nats_url,
            "BERTH_DATA_DIR": str(self.data_dir),
        }
        if self.settings.backend == "sqlite":
            env["BERTH_SQLITE_PATH"] = str(self.settings.sqlite_path)
        else:
            env["BERTH_PG_DSN"] = self.settings.pg_dsn
        return env

    def open(self) -> EventStore:
        return EventStore(self.settings)


def berth(site: Site, *args: str, stdin: bytes | None = None) -> Result:
    """``berth <args>`` against ``site``, as a user would run it."""
    env: Mapping[str, str | None] = {"BERTH_DEBUG": None, **site.env()}
    return CliRunner().invoke(app, list(args), env=env, input=stdin)


def request_sessions(
    store: EventStore, count: int, *, cancel_every: int = 0, first: int = 0
) -> list[Session]:
    """Store ``count`` session requests (and a cancellation of every n-th), 100 per save."""
    sessions: list[Session] = []
    for start in range(first, first + count, 100):
        batch = []
        for n in range(start, min(start + 100, first + count)):
            session = requested_session(
                # non-ASCII and escapes, so the byte-exact round trip means something
                name=f'séance-{n} "quoted" ✓',
                access_key=f"user-{n % 5}",
                image="busybox",
                session_type="batch" if n % 2 else "interactive",
                resources={"cpu": str(1 + n % 4), "mem": f"{64 * (1 + n % 3)}m"},
                startup_command="echo 'hi'\n" if n % 3 == 0 else None,
                request_id=f"req-{n}",
                at=EPOCH + timedelta(seconds=n),
            )
            if cancel_every and n % cancel_every == 0:
                session.cancel("changed my mind", EPOCH + timedelta(seconds=n, milliseconds=500))
            batch.append(session)
        store.save(*batch)
        sessions.extend(batch)
    return sessions


def relay_all(store: EventStore, nats_url: str) -> int:
    """Publish everything stored onto ``BERTH_EVENTS`` with the real relay; the last id relayed."""

    async def run() -> int:
        nc = await nats.connect(nats_url)
        try:
            await ensure_streams(nc.jetstream(), StreamDurability())
            relay = Relay(store.app_recorder, nc, batch_size=500)
            while not await relay.publish_available():
                pass
            assert relay.position is not None
            return relay.position.notification_id
        finally:
            await nc.close()

    return asyncio.run(run())


def stored_count(site: Site) -> int:
    with site.open() as store:
        return store.max_notification_id()


def publish_like_the_relay(
    nats_url: str, store: EventStore, order: list[int], alter: dict[int, bytes] | None = None
) -> None:
    """Put the store's notifications onto the stream in ``order`` (ids), as the relay would.

    Builds streams the relay itself would never produce (reordered, with a gap,
    with an altered payload), for ``verify`` to catch.
    """
    notifications = {n.id: n for n in store.app_recorder.select_notifications(1, 100_000)}

    async def run() -> None:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await ensure_streams(js, StreamDurability())
            for nid in order:
                n = notifications[nid]
                name = n.topic.rpartition("@")[0]
                kind, _, event_name = name.partition(".")
                await js.publish(
                    event_subject(kind, str(n.originator_id), event_name),
                    (alter or {}).get(nid, n.state),
                    headers={MSG_ID_HEADER: str(nid), TOPIC_HEADER: n.topic},
                )
        finally:
            await nc.close()

    asyncio.run(run())


def publish_stray(nats_url: str, subject: str, payload: bytes, headers: dict[str, str]) -> None:
    """One message on ``BERTH_EVENTS`` that no relay published."""

    async def run() -> None:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await ensure_streams(js, StreamDurability())
            await js.publish(subject, payload, headers=headers or None)
        finally:
            await nc.close()

    asyncio.run(run())
