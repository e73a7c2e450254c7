"""The runner keeps read models in step with the stream: right rows, no duplicates after restart."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from projections.base import Projection
from projections.changes import changes_subject, decode_changed
from projections.queries import status_rows
from projections.read_store import open_read_store
from projections.rebuild import rebuild_read_model
from projections.runner import ProjectionRunner, stored_position
from projections.session_events import SessionEvents
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings
from tests.conftest import NatsServer
from tests.integration.projections.backbone import Backbone, dump_model, projecting, query


async def run_until(
    settings: ReadStoreSettings,
    nc: NATS,
    notification_id: int,
    models: Sequence[Projection] = (),
    **options: float,
) -> ProjectionRunner:
    """Run a runner of ``models`` (SessionView alone by default) until its tables include
    ``notification_id``, then stop it."""
    group = list(models) or [SessionView()]
    name = "-".join(m.name for m in group) if len(group) > 1 else None
    async with projecting(settings, nc, group, name=name, **options) as runner:
        await runner.wait_for(notification_id, timeout=60)
    return runner


async def test_sessions_are_projected_with_status_and_history(
    backbone: Backbone, nc: NATS, read_settings: ReadStoreSettings
) -> None:
    sessions = backbone.request_sessions(30, cancel_every=4)
    last = await backbone.relayed()

    await run_until(read_settings, nc, last, [SessionView(), SessionEvents()])

    rows = query(
        read_settings,
        "SELECT id, name, access_key, session_type, status, status_reason, resources, version"
        " FROM session_view ORDER BY name",
    )
    assert len(rows) == 30
    by_id = {row[0]: row for row in rows}
    for n, session in enumerate(sessions):
        row = by_id[str(session.id)]
        assert row[1] == f"session-{n}"
        assert json.loads(row[6]) == session.requested.kernels[0].slots
        if n % 4 == 0:
            assert (row[4], row[5], row[7]) == ("CANCELLED", f"withdrawn {n}", 2)
        else:
            assert (row[4], row[5], row[7]) == ("PENDING", "requested", 1)

    cancelled = sessions[8]
    store = open_read_store(read_settings)
    try:
        with store.transaction(pipelined=False) as tx:
            history = status_rows(tx, [str(cancelled.id)])
    finally:
        store.close()
    assert [(r.version, r.status, r.reason) for r in history] == [
        (1, "PENDING", "requested"),
        (2, "CANCELLED", "withdrawn 8"),
    ]


async def test_a_restart_resumes_without_duplicates(
    backbone: Backbone,
    nc: NATS,
    read_settings: ReadStoreSettings,
    reference_settings: ReadStoreSettings,
) -> None:
    first = await backbone.relay_sessions(1500, cancel_every=3)
    # Small batches, so that the first run stops in the middle of the stream.
    before = await run_until(read_settings, nc, first // 2, batch_size=100)
    assert before.position.notification_id < first

    last = await backbone.relay_sessions(500, cancel_every=5)
    after = await run_until(read_settings, nc, last)

    # Every event applied exactly once across the two runs.
    assert before.applied + after.applied == last
    store = open_read_store(read_settings)
    try:
        assert stored_position(store, "sessions").notification_id == last
    finally:
        store.close()

    interrupted = dump_model(read_settings, SessionView())
    assert len(interrupted["session_view"]) == 2000
    # Every event changed its session's row once: the versions add up to the events.
    assert sum(row[-1] for row in interrupted["session_view"]) == last

    assert await rebuild_read_model("sessions", nc, reference_settings) == last
    assert dump_model(reference_settings, SessionView()) == interrupted


async def caught_up(backbone: Backbone, runner: ProjectionRunner, sessions: int) -> int:
    """Request ``sessions`` more sessions and wait until ``runner`` holds them; the last
    notification id."""
    last = await backbone.relay_sessions(sessions)
    await runner.wait_for(last, timeout=30)
    return last


async def test_a_runner_follows_events_as_they_are_stored(
    backbone: Backbone, nc: NATS, tmp_path: Path
) -> None:
    settings = ReadStoreSettings(sqlite_path=tmp_path / "readmodels.sqlite3")
    async with projecting(settings, nc, [SessionView()]) as runner:
        for _ in range(5):
            backbone.request_sessions(3)
            await runner.wait_for(backbone.store.max_notification_id(), timeout=30)
        assert len(query(settings, "SELECT id FROM session_view")) == 15


async def test_a_runner_rides_out_a_nats_server_restart(
    backbone: Backbone, nc: NATS, nats_server: NatsServer, tmp_path: Path
) -> None:
    settings = ReadStoreSettings(sqlite_path=tmp_path / "readmodels.sqlite3")
    async with projecting(settings, nc, [SessionView()]) as runner:
        await caught_up(backbone, runner, 300)
        nats_server.stop()
        nats_server.start()
        last = await backbone.relay_sessions(300)
        await runner.wait_for(last, timeout=30)
    assert runner.applied == last == 600
    assert len(query(settings, "SELECT id FROM session_view")) == 600


class _Losing(list):  # type: ignore[type-arg]
    """A pull reader's buffer that loses the next ``count`` messages, as a dropped
    connection loses what was on its way."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def append(self, item: object) -> None:
        if self.count > 0:
            self.count -= 1
            return
        super().append(item)


async def test_messages_lost_with_a_connection_are_read_again_after_it_is_back(
    backbone: Backbone, nc: NATS, nats_server: NatsServer, tmp_path: Path
) -> None:
    # The consumer takes no acknowledgements, so the server never delivers a lost message
    # again: the runner re-opens its consumer from the tables once it has reconnected,
    # without waiting for a later event to show the gap.
    settings = ReadStoreSettings(sqlite_path=tmp_path / "readmodels.sqlite3")
    async with projecting(settings, nc, [SessionView()]) as runner:
        before = await caught_up(backbone, runner, 100)
        assert runner._reader is not None
        lost = runner._reader._buffer = _Losing(40)
        last = await backbone.relay_sessions(40)
        deadline = time.monotonic() + 30
        while lost.count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert lost.count == 0 and runner.position.notification_id == before
        nats_server.stop()
        nats_server.start()
        await runner.wait_for(last, timeout=30)
    assert runner.applied == last == 140
    assert len(query(settings, "SELECT id FROM session_view")) == 140


async def test_events_that_keep_coming_are_committed_together_a_lone_one_at_once(
    backbone: Backbone, nc: NATS, tmp_path: Path
) -> None:
    settings = ReadStoreSettings(sqlite_path=tmp_path / "readmodels.sqlite3")
    commits: list[int] = []  # the events each commit took in, from its announcement

    async def count(msg: Msg) -> None:
        commits.append(len(decode_changed(msg.data).changes))

    sub = await nc.subscribe(changes_subject("sessions"), cb=count)
    try:
        # An interval far longer than the five saves below take (about 0.3 s), so that a stall
        # of the machine while they are saved does not end the gathering before the last one;
        # "at once" is then anything well under it.
        async with projecting(settings, nc, [SessionView()], commit_interval=2.0) as runner:
            # After a quiet spell an event is committed at once, without waiting for company.
            started = time.monotonic()
            backbone.request_sessions(1)
            await runner.wait_for(backbone.store.max_notification_id(), timeout=30)
            assert time.monotonic() - started < 1.5
            # Five saves right after that commit, each on the stream before the next:
            # gathered for the rest of the interval.
            for _ in range(5):
                await backbone.relay_sessions(1)
                await asyncio.sleep(0.05)
            await runner.wait_for(backbone.store.max_notification_id(), timeout=30)
            # A second quiet spell: the next one is again committed at once.
            await asyncio.sleep(2.1)
            started = time.monotonic()
            backbone.request_sessions(1)
            await runner.wait_for(backbone.store.max_notification_id(), timeout=30)
            assert time.monotonic() - started < 1.5
            async with asyncio.timeout(10):
                while sum(commits) < 7:
                    await asyncio.sleep(0.01)
    finally:
        await sub.unsubscribe()
    assert commits == [1, 5, 1]
