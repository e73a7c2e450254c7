"""Export the log, replay it into a fresh store, and get the very same log back."""

from __future__ import annotations

from pathlib import Path

from services.manager.store import EventStore
from tests.integration.audit.site import Site, berth, relay_all, request_sessions, stored_count


def test_export_import_export_is_byte_identical_and_both_verify(
    site: Site, source: EventStore, fresh_site: Site, tmp_path: Path
) -> None:
    request_sessions(source, 250, cancel_every=3)
    relay_all(source, site.nats_url)
    exported = tmp_path / "log.jsonl"

    result = berth(site, "events", "export", str(exported))
    assert result.exit_code == 0, result.output
    lines = exported.read_bytes().splitlines()
    assert len(lines) == source.max_notification_id() == 250 + 84

    result = berth(fresh_site, "events", "import", str(exported))
    assert result.exit_code == 0, result.output
    assert "imported 334 events" in result.output
    with fresh_site.open() as replayed:
        relay_all(replayed, fresh_site.nats_url)

    again = tmp_path / "again.jsonl"
    assert berth(fresh_site, "events", "export", str(again)).exit_code == 0
    assert again.read_bytes() == exported.read_bytes()

    for place in (site, fresh_site):
        result = berth(place, "events", "verify")
        assert result.exit_code == 0, result.output
        assert "same events in the same order" in result.output


def test_export_to_stdout_takes_a_range(site: Site, source: EventStore, tmp_path: Path) -> None:
    request_sessions(source, 20)
    result = berth(site, "events", "export", "-", "--from", "5", "--to", "9")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line.split(",")[0] for line in lines] == [f'{{"id":{n}' for n in range(5, 10)]


def test_import_from_stdin(site: Site, source: EventStore, fresh_site: Site) -> None:
    request_sessions(source, 30, cancel_every=2)
    exported = berth(site, "events", "export", "-").stdout_bytes
    result = berth(fresh_site, "events", "import", "-", stdin=exported)
    assert result.exit_code == 0, result.output
    assert stored_count(fresh_site) == 45


def test_import_into_a_store_that_holds_events_is_refused(
    site: Site, source: EventStore, fresh_site: Site, tmp_path: Path
) -> None:
    request_sessions(source, 10)
    exported = tmp_path / "log.jsonl"
    assert berth(site, "events", "export", str(exported)).exit_code == 0
    with fresh_site.open() as target:
        request_sessions(target, 3, first=1000)

    result = berth(fresh_site, "events", "import", str(exported))

    assert result.exit_code == 2
    assert "already holds events" in result.output
    assert "Traceback" not in result.output
    assert stored_count(fresh_site) == 3


def test_a_malformed_line_is_refused_by_number_and_nothing_is_written(
    site: Site, source: EventStore, fresh_site: Site, tmp_path: Path
) -> None:
    request_sessions(source, 40, cancel_every=4)
    exported = tmp_path / "log.jsonl"
    assert berth(site, "events", "export", str(exported)).exit_code == 0
    lines = exported.read_bytes().splitlines(keepends=True)
    lines[36] = lines[36][: len(lines[36]) // 2] + b"\n"  # cut short, as by a full disk
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(b"".join(lines))

    result = berth(fresh_site, "events", "import", str(damaged))

    assert result.exit_code == 2
    assert "line 37" in result.output
    assert "Traceback" not in result.output
    assert stored_count(fresh_site) == 0


def test_a_version_gap_is_refused_by_line_number(
    site: Site, source: EventStore, fresh_site: Site, tmp_path: Path
) -> None:
    request_sessions(source, 10, cancel_every=1)  # each session: requested, then cancelled
    exported = tmp_path / "log.jsonl"
    assert berth(site, "events", "export", str(exported)).exit_code == 0
    lines = exported.read_bytes().splitlines(keepends=True)
    requested_first = next(n for n, line in enumerate(lines) if b"SessionRequested" in line)
    del lines[requested_first]
    gapped = tmp_path / "gapped.jsonl"
    gapped.write_bytes(b"".join(lines))

    result = berth(fresh_site, "events", "import", str(gapped))

    assert result.exit_code == 2
    assert "version 2 where version 1 was expected" in result.output
    assert stored_count(fresh_site) == 0


def test_import_is_refused_while_the_stream_holds_another_stores_events(
    site: Site, source: EventStore, fresh_site: Site, tmp_path: Path
) -> None:
    request_sessions(source, 10)
    relay_all(source, site.nats_url)
    exported = tmp_path / "log.jsonl"
    assert berth(site, "events", "export", str(exported)).exit_code == 0
    stale = Site(fresh_site.settings, site.nats_url, fresh_site.data_dir)  # the old stream

    result = berth(stale, "events", "import", str(exported))

    assert result.exit_code == 2
    assert "already holds 10 messages" in result.output
    assert stored_count(fresh_site) == 0
