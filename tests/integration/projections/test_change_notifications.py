"""After each commit the runner tells ``berth.rm.<group>`` what changed in which model, and
the tables already hold it when the message arrives."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from projections.changes import changes_subject, decode_changed
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings
from tests.integration.projections.backbone import Backbone, projecting, query


async def test_every_projected_event_is_announced_once_its_rows_are_committed(
    backbone: Backbone, nc: NATS, tmp_path: Path
) -> None:
    settings = ReadStoreSettings(sqlite_path=tmp_path / "readmodels.sqlite3")
    announced: list[tuple[int, str, str, int | None]] = []
    visible_on_arrival: list[bool] = []
    arrived = asyncio.Event()

    async def on_message(msg: Msg) -> None:
        changed = decode_changed(msg.data)
        assert set(changed.positions) == {"sessions"}
        assert all(c.notification_id <= changed.positions["sessions"] for c in changed.changes)
        for c in changed.changes:
            announced.append((c.notification_id, c.kind, c.event, c.version))
        # Read at once, as a subscriber would: the announced rows are there.
        ids = {c.aggregate_id for c in changed.changes}
        rows = query(settings, "SELECT id FROM session_view")
        visible_on_arrival.append(ids <= {r[0] for r in rows})
        arrived.set()

    sub = await nc.subscribe(changes_subject("sessions"), cb=on_message)
    try:
        async with projecting(settings, nc, [SessionView()], batch_size=7) as runner:
            last = await backbone.relay_sessions(20, cancel_every=4)
            await runner.wait_for(last, timeout=30)
            async with asyncio.timeout(10):
                while len(announced) < last:
                    arrived.clear()
                    if len(announced) < last:  # nothing arrived since the check above
                        await arrived.wait()
    finally:
        await sub.unsubscribe()

    assert [a[0] for a in announced] == list(range(1, last + 1))
    assert {a[1] for a in announced} == {"session"}
    assert [a[2:] for a in announced if a[2] == "SessionCancelled"] == [("SessionCancelled", 2)] * 5
    assert all(visible_on_arrival)
