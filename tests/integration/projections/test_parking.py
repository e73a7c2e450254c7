"""Events a runner cannot decode are parked with the reason, and the runner goes on."""

from __future__ import annotations

import json
from datetime import timedelta

from nats.aio.client import Client as NATS
from typer.testing import CliRunner

from cli.main import app
from events import codec
from events.subjects import MSG_ID_HEADER, TOPIC_HEADER, event_subject, subject_for
from projections.parking import list_parked
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings
from services.manager.domain.session import Session
from tests.factories import requested_session
from tests.integration.projections.backbone import EPOCH, Backbone, projecting, query


def good_session(n: int) -> Session:
    return requested_session(
        name=f"after-{n}",
        access_key="parking-test",
        image="busybox",
        session_type="batch",
        resources={"cpu": "1"},
        startup_command=None,
        request_id=f"after-{n}",
        at=EPOCH + timedelta(hours=1, seconds=n),
    )


async def test_undecodable_events_are_parked_and_the_runner_goes_on(
    backbone: Backbone, nc: NATS, read_settings: ReadStoreSettings
) -> None:
    stored = await backbone.relay_sessions(5)
    await backbone.stop()  # from here the test publishes onto the stream itself

    js = nc.jetstream()
    subject = event_subject("session", "0b8e7c1e-0000-4000-8000-000000000001", "Whatever")

    async def publish_raw(nid: int | None, topic: str | None, payload: bytes) -> None:
        headers = {}
        if nid is not None:
            headers[MSG_ID_HEADER] = str(nid)
        if topic is not None:
            headers[TOPIC_HEADER] = topic
        await js.publish(subject, payload, headers=headers)

    async def publish_good(nid: int, n: int) -> None:
        event = good_session(n).collect_events()[0]
        topic, payload = codec.encode(event)
        await js.publish(
            subject_for(event), payload, headers={MSG_ID_HEADER: str(nid), TOPIC_HEADER: topic}
        )

    nid = stored
    await publish_raw(nid + 1, "session.SessionTeleported@1", b"{}")
    await publish_good(nid + 2, 0)
    await publish_raw(nid + 3, "session.SessionCancelled@7", b'{"reason": "from the future"}')
    await publish_raw(nid + 4, "session.SessionRequested@1", b'{"name": truncated')
    await publish_raw(None, None, b"no headers at all")
    await publish_good(nid + 5, 1)

    async with projecting(read_settings, nc, [SessionView()]) as runner:
        await runner.wait_for(nid + 5, timeout=30)
        parked = list_parked(runner.store, "sessions")

    assert [(p.notification_id, p.reason) for p in parked] == [
        (nid + 1, "unknown-type"),
        (nid + 3, "newer-version"),
        (nid + 4, "corrupt-payload"),
        (None, "no-notification-id"),
    ]
    assert parked[0].topic == "session.SessionTeleported@1"
    assert "SessionTeleported" in parked[0].detail
    assert parked[2].payload == b'{"name": truncated'
    assert runner.parked == 4

    names = [row[0] for row in query(read_settings, "SELECT name FROM session_view ORDER BY name")]
    assert names == ["after-0", "after-1"] + [f"session-{n}" for n in range(5)]

    # ... and `berth events parked` reports them, with their reasons.
    env = {"BERTH_STORE": read_settings.backend}
    if read_settings.backend == "sqlite":
        env["BERTH_READMODELS_PATH"] = str(read_settings.sqlite_path)
    else:
        env["BERTH_PG_DSN"] = read_settings.pg_dsn
    result = CliRunner().invoke(app, ["events", "parked", "--json"], env=env)
    assert result.exit_code == 0, result.output
    reported = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    assert [(r["notification_id"], r["reason"]) for r in reported] == [
        (nid + 1, "unknown-type"),
        (nid + 3, "newer-version"),
        (nid + 4, "corrupt-payload"),
        (None, "no-notification-id"),
    ]
