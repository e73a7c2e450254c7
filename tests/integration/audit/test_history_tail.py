"""``berth events history`` and ``berth events tail``: reading one aggregate, and the stream."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from services.manager.domain.session import session_id_for
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.conftest import NatsServer
from tests.integration.audit.site import (
    Site,
    berth,
    publish_stray,
    relay_all,
    request_sessions,
)


def json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_history_shows_an_aggregates_versions_in_order(site: Site, source: EventStore) -> None:
    request_sessions(source, 12, cancel_every=4)  # session 8 is requested, then cancelled
    session_id = str(session_id_for("user-3", "req-8"))

    result = berth(site, "events", "history", session_id)
    assert result.exit_code == 0, result.output
    assert result.output.index("SessionRequested@1") < result.output.index("SessionCancelled@1")

    result = berth(site, "events", "history", session_id, "--json")
    entries = json_lines(result.stdout)
    assert [(e["version"], e["type"]) for e in entries] == [
        (1, "session.SessionRequested"),
        (2, "session.SessionCancelled"),
    ]
    assert entries[0]["event"]["name"] == 'séance-8 "quoted" ✓'  # type: ignore[index]
    assert entries[1]["event"] == {"reason": "changed my mind"}


def test_history_of_an_unknown_or_malformed_id(site: Site, source: EventStore) -> None:
    request_sessions(source, 2)
    unknown = berth(site, "events", "history", str(session_id_for("nobody", "nothing")))
    assert unknown.exit_code == 1
    assert "no events for aggregate" in unknown.output
    malformed = berth(site, "events", "history", "not-a-uuid")
    assert malformed.exit_code == 2
    assert "'not-a-uuid' is not a UUID" in malformed.output


def test_tail_shows_only_the_events_that_match(site: Site, source: EventStore) -> None:
    request_sessions(source, 40, cancel_every=5)
    relay_all(source, site.nats_url)

    args = ["events", "tail", "--no-follow", "--from-start", "--json"]
    cancelled = json_lines(berth(site, *args, "--type", "SessionCancelled").stdout)
    assert len(cancelled) == 8
    assert {e["type"] for e in cancelled} == {"session.SessionCancelled"}

    session_id = str(session_id_for("user-0", "req-10"))
    one = json_lines(berth(site, *args, "--kind", "session", "--id", session_id).stdout)
    assert [(e["aggregate_id"], e["type"]) for e in one] == [
        (session_id, "session.SessionRequested"),
        (session_id, "session.SessionCancelled"),
    ]

    last = json_lines(berth(site, "events", "tail", "--no-follow", "--last", "3", "--json").stdout)
    assert [e["id"] for e in last] == [46, 47, 48]

    lines = berth(site, "events", "tail", "--no-follow", "--type", "SessionCancelled").stdout
    assert len(lines.splitlines()) == 8 and "changed my mind" in lines


def test_tail_shows_undecodable_events_with_their_reason(site: Site, source: EventStore) -> None:
    request_sessions(source, 2)
    relay_all(source, site.nats_url)
    aggregate = "0b9d8b43-2a1f-4e0e-9d59-6c0f5c1d7e21"
    publish_stray(
        site.nats_url,
        f"berth.ev.session.{aggregate}.SessionExploded",
        b"{}",
        {"Nats-Msg-Id": "3", "Berth-Topic": "session.SessionExploded@1"},
    )
    publish_stray(
        site.nats_url,
        f"berth.ev.session.{aggregate}.SessionCancelled",
        b"{not json",
        {"Nats-Msg-Id": "4", "Berth-Topic": "session.SessionCancelled@1"},
    )

    result = berth(site, "events", "tail", "--no-follow", "--from-start")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert "<unknown-type>" in lines[2] and "SessionExploded" in lines[2]
    assert "<corrupt-payload>" in lines[3]


def test_tail_refuses_bad_filters_and_an_unreachable_server(site: Site) -> None:
    clash = berth(site, "events", "tail", "--kind", "agent", "--type", "session.SessionCancelled")
    assert clash.exit_code == 2 and "is not of kind 'agent'" in clash.output
    nowhere = Site(site.settings, "nats://127.0.0.1:1", site.data_dir)
    result = berth(nowhere, "events", "tail", "--no-follow")
    assert result.exit_code == 2
    assert "cannot reach NATS at nats://127.0.0.1:1" in result.output
    assert "Traceback" not in result.output


def test_a_live_tail_shows_new_events_and_stops_cleanly_on_ctrl_c(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    site = Site(StoreSettings(sqlite_path=tmp_path / "events.sqlite3"), nats_server.url, tmp_path)
    with site.open() as store:
        request_sessions(store, 5)
        relay_all(store, site.nats_url)
        berth_command = Path(sys.executable).with_name("berth")
        tail = subprocess.Popen(
            [str(berth_command), "events", "tail", "--last", "2", "--json"],
            env={**os.environ, **site.env()},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert tail.stdout is not None
            backlog = [json.loads(tail.stdout.readline()) for _ in range(2)]
            assert [e["id"] for e in backlog] == [4, 5]
            request_sessions(store, 1, first=5)
            relay_all(store, site.nats_url)
            assert json.loads(tail.stdout.readline())["id"] == 6
            time.sleep(0.2)
            tail.send_signal(signal.SIGINT)
            _, stderr = tail.communicate(timeout=20)
        finally:
            if tail.poll() is None:
                tail.kill()
                tail.wait()
    assert tail.returncode == 0
    assert b"Traceback" not in stderr
