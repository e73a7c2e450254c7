"""``berth events verify`` passes only when the stream holds the store's events, in order."""

from __future__ import annotations

import json
import uuid

from services.manager.store import EventStore
from tests.integration.audit.site import (
    Site,
    berth,
    publish_like_the_relay,
    publish_stray,
    relay_all,
    request_sessions,
)


def test_a_relayed_store_verifies(site: Site, source: EventStore) -> None:
    request_sessions(source, 120, cancel_every=4)
    relay_all(source, site.nats_url)

    result = berth(site, "events", "verify", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] and report["identical"]
    assert report["store_count"] == report["stream_count"] == report["matched"] == 150


def test_a_stray_message_on_the_stream_fails_verify(site: Site, source: EventStore) -> None:
    request_sessions(source, 20)
    relay_all(source, site.nats_url)
    stray = f"berth.ev.session.{uuid.uuid4()}.SessionRequested"
    publish_stray(site.nats_url, stray, b"{}", {})

    result = berth(site, "events", "verify")

    assert result.exit_code == 1
    assert "extra 1" in result.output
    assert f"stream seq 21 ({stray}) carries no notification id" in result.output
    assert "MISMATCH" in result.output


def test_an_event_the_stream_lacks_fails_verify_unless_lag_is_allowed(
    site: Site, source: EventStore
) -> None:
    request_sessions(source, 20)
    relay_all(source, site.nats_url)
    request_sessions(source, 1, first=20)  # stored, not yet relayed

    result = berth(site, "events", "verify")
    assert result.exit_code == 1
    assert "lags the store by 1 events" in result.output

    result = berth(site, "events", "verify", "--allow-lag")
    assert result.exit_code == 0, result.output
    assert "the stream is a prefix of the store" in result.output


def test_a_reordered_stream_fails_verify(site: Site, source: EventStore) -> None:
    request_sessions(source, 6)
    publish_like_the_relay(site.nats_url, source, [1, 2, 4, 3, 5, 6])

    result = berth(site, "events", "verify", "--json")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["out_of_order"], report["missing"], report["matched"]) == (1, 0, 5)
    assert report["mismatches"][0]["detail"] == (
        "stream seq 4 holds notification 3 after notification 4"
    )


def test_a_gap_and_an_altered_payload_are_named(site: Site, source: EventStore) -> None:
    request_sessions(source, 6)
    altered = source.app_recorder.select_notifications(5, 1)[0].state.replace(
        b"busybox", b"evilbox"
    )
    publish_like_the_relay(site.nats_url, source, [1, 2, 4, 5, 6], alter={5: altered})

    result = berth(site, "events", "verify")

    assert result.exit_code == 1
    assert "missing 1" in result.output and "different 1" in result.output
    assert (
        "notification 3 is not on the stream (stream seq 3 holds notification 4)" in result.output
    )
    assert "payload of" in result.output
