"""Import (replay) an export into a fresh event store.

The whole export is validated before anything is written, so a bad line
refuses the import and leaves the store as it was: every line must be a
complete record, notification ids must increase, and each aggregate's versions
must run 1, 2, 3… without a gap, since a fresh store has no earlier versions
for them to follow. The events are then inserted in notification order, in
batches, through the store's own recorder; the relay publishes them as usual.

A fresh store numbers its notifications from 1, so an export whose ids have
gaps (PostgreSQL sequences skip numbers after a failed transaction) is imported
renumbered: same events, same order, consecutive ids. The result says so.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec
from eventsourcing.persistence import StoredEvent

from events.codec import DecodeError, split_topic
from services.manager.audit.export import ExportRecord

BATCH_SIZE = 1000

_decoder = msgspec.json.Decoder(ExportRecord)
#: a kind or event name becomes one token of a NATS subject
_SUBJECT_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


class ExportFileError(ValueError):
    """A line of the export that cannot be imported; nothing was written."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class StoreNotEmpty(RuntimeError):
    """The target store already holds events; an import only fills a fresh one."""


@dataclass(frozen=True)
class ValidatedExport:
    events: list[StoredEvent]
    #: the notification ids the export gave them, in the same order
    source_ids: list[int]

    @property
    def renumbered(self) -> bool:
        """Whether a fresh store will give these events ids other than their exported ones."""
        return self.source_ids != list(range(1, len(self.source_ids) + 1))


@dataclass(frozen=True)
class ImportResult:
    imported: int
    first_id: int | None
    last_id: int | None
    renumbered: bool


class EventWriter(Protocol):
    """What an import needs of the event store's recorder."""

    def max_notification_id(self) -> int | None: ...
    def insert_events(self, stored_events: Sequence[StoredEvent]) -> Sequence[int] | None: ...


def read_export(lines: Iterable[bytes]) -> ValidatedExport:
    """Parse and check every line; raise :class:`ExportFileError` naming the first bad one."""
    stored: list[StoredEvent] = []
    source_ids: list[int] = []
    versions: dict[object, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = _decoder.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ExportFileError(number, f"not an export record: {exc}") from None
        if record.id < 1:
            raise ExportFileError(number, f"notification id {record.id} is not positive")
        state = _payload(number, record)
        _check_topic(number, record.topic)
        if source_ids and record.id <= source_ids[-1]:
            raise ExportFileError(
                number, f"notification id {record.id} does not follow {source_ids[-1]}"
            )
        expected = versions.get(record.originator_id, 0) + 1
        if record.originator_version != expected:
            raise ExportFileError(
                number,
                f"aggregate {record.originator_id} has version {record.originator_version} "
                f"where version {expected} was expected",
            )
        versions[record.originator_id] = expected
        source_ids.append(record.id)
        stored.append(
            StoredEvent(
                originator_id=record.originator_id,
                originator_version=record.originator_version,
                topic=record.topic,
                state=state,
            )
        )
    return ValidatedExport(events=stored, source_ids=source_ids)


def import_events(
    recorder: EventWriter, export: ValidatedExport, batch_size: int = BATCH_SIZE
) -> ImportResult:
    """Insert a validated export into an empty store, in order, ``batch_size`` at a time."""
    if recorder.max_notification_id():
        raise StoreNotEmpty("the target store already holds events; import only into a fresh one")
    first_id: int | None = None
    last_id: int | None = None
    for offset in range(0, len(export.events), batch_size):
        ids = recorder.insert_events(export.events[offset : offset + batch_size])
        if ids:
            first_id = ids[0] if first_id is None else first_id
            last_id = ids[-1]
    return ImportResult(
        imported=len(export.events),
        first_id=first_id,
        last_id=last_id,
        renumbered=export.renumbered,
    )


def _payload(line: int, record: ExportRecord) -> bytes:
    has_state = len(record.state) > 0
    if has_state == (record.state_base64 is not None):
        raise ExportFileError(line, "a record needs exactly one of 'state' and 'state_base64'")
    if record.state_base64 is None:
        return bytes(record.state)
    try:
        return base64.b64decode(record.state_base64, validate=True)
    except binascii.Error as exc:
        raise ExportFileError(line, f"state_base64 is not base64: {exc}") from None


def _check_topic(line: int, topic: str) -> None:
    try:
        name, _version = split_topic(topic)
    except DecodeError as exc:
        raise ExportFileError(line, str(exc)) from None
    kind, _, event_name = name.partition(".")
    if not (_SUBJECT_TOKEN.match(kind) and _SUBJECT_TOKEN.match(event_name)):
        raise ExportFileError(line, f"topic {topic!r} is not <kind>.<EventName>@<version>")
