"""An import checks the whole export first, names the first bad line, and writes in order."""

from __future__ import annotations

import json

import pytest

from services.manager.audit.export import encode_record
from services.manager.audit.replay import (
    ExportFileError,
    StoreNotEmpty,
    import_events,
    read_export,
)
from tests.unit.audit.fakes import FakeRecorder, session_log


def exported(count: int) -> list[bytes]:
    return [encode_record(note) for note in session_log(count)]


def edited(line: bytes, **changes: object) -> bytes:
    record = json.loads(line)
    for key, value in changes.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return json.dumps(record).encode() + b"\n"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda line: line[:20] + b"\n", "not an export record"),
        (lambda line: edited(line, topic=None), "missing required field `topic`"),
        (lambda line: edited(line, originator_version="2"), "Expected `int`"),
        (lambda line: edited(line, originator_id="not-a-uuid"), "Invalid UUID"),
        (lambda line: edited(line, topic="SessionRequested"), "malformed event topic"),
        (lambda line: edited(line, topic="session.Bad Name@1"), "is not <kind>.<EventName>"),
        (lambda line: edited(line, state_base64="e30="), "exactly one of"),
        (lambda line: edited(line, state=None), "exactly one of"),
        (lambda line: edited(line, state=None, state_base64="***"), "not base64"),
        (lambda line: edited(line, id=1), "notification id 1 does not follow 5"),
        (lambda line: edited(line, originator_version=3), "version 3 where version"),
    ],
)
def test_a_bad_line_is_refused_with_its_number(damage: object, message: str) -> None:
    lines = exported(9)
    lines[5] = damage(lines[5])  # type: ignore[operator]
    with pytest.raises(ExportFileError, match=message) as caught:
        read_export(lines)
    assert caught.value.line == 6


def test_an_aggregate_must_start_at_version_one() -> None:
    lines = exported(9)
    first_cancel = next(n for n, line in enumerate(lines) if b"SessionCancelled" in line)
    requested = next(
        n
        for n, line in enumerate(lines)
        if json.loads(line)["originator_id"] == json.loads(lines[first_cancel])["originator_id"]
    )
    del lines[requested]
    with pytest.raises(ExportFileError, match="version 2 where version 1 was expected"):
        read_export(lines)


def test_blank_lines_are_skipped_but_counted() -> None:
    lines = exported(4)
    lines.insert(2, b"\n")
    lines[4] = b"{}\n"
    with pytest.raises(ExportFileError) as caught:
        read_export(lines)
    assert caught.value.line == 5


def test_import_writes_every_event_in_order_in_batches() -> None:
    notes = session_log(25)
    target = FakeRecorder()
    result = import_events(target, read_export(exported(25)), batch_size=10)
    assert target.insert_calls == [10, 10, 5]
    assert [(n.originator_id, n.originator_version, n.topic, n.state) for n in target.notes] == [
        (n.originator_id, n.originator_version, n.topic, n.state) for n in notes
    ]
    assert (result.imported, result.first_id, result.last_id, result.renumbered) == (
        25,
        1,
        25,
        False,
    )


def test_gaps_in_the_exported_ids_are_reported_as_renumbered() -> None:
    lines = [edited(line, id=10 * (n + 1)) for n, line in enumerate(exported(3))]
    target = FakeRecorder()
    result = import_events(target, read_export(lines))
    assert result.renumbered
    assert [n.id for n in target.notes] == [1, 2, 3]


def test_import_into_a_store_with_events_writes_nothing() -> None:
    target = FakeRecorder(session_log(1))
    with pytest.raises(StoreNotEmpty):
        import_events(target, read_export(exported(5)))
    assert target.insert_calls == [] and len(target.notes) == 1
