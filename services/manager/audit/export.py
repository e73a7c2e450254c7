"""The export format: the notification log as JSON Lines, one notification a line.

Each line is ``{"id", "originator_id", "originator_version", "topic", "state"}``
where ``state`` is the stored payload itself, embedded verbatim: the payload is
already compact JSON (see :mod:`events.codec`), so the line stays readable with
any JSON tool and an import recovers the payload byte for byte, with no
re-encoding that could change a float or an escape. A payload that is not one
line of JSON (a corrupt one, say) is kept as ``state_base64`` instead, so that
even a damaged log exports and imports unchanged.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from typing import BinaryIO, Protocol
from uuid import UUID

import msgspec

PAGE_SIZE = 1000

_encoder = msgspec.json.Encoder()
_JSON_WHITESPACE = b" \t\r\n"


class ExportRecord(msgspec.Struct, omit_defaults=True):
    id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: msgspec.Raw = msgspec.Raw(b"")
    state_base64: str | None = None


class LoggedEvent(Protocol):
    """One notification, as the event store's recorder returns it."""

    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> UUID | str: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


class NotificationReader(Protocol):
    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None
    ) -> Sequence[LoggedEvent]: ...


def embeddable(payload: bytes) -> bool:
    """Whether ``payload`` can sit in a line verbatim and be read back byte for byte."""
    if not payload or b"\n" in payload or b"\r" in payload:
        return False
    if payload[0] in _JSON_WHITESPACE or payload[-1] in _JSON_WHITESPACE:
        return False  # a JSON parser would drop the surrounding whitespace
    try:
        msgspec.json.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False  # not JSON, or not UTF-8 (msgspec raises the latter for a bare 0x80)
    return True


def encode_record(notification: LoggedEvent) -> bytes:
    """One export line, newline included."""
    originator_id = notification.originator_id
    record = ExportRecord(
        id=notification.id,
        originator_id=originator_id if isinstance(originator_id, UUID) else UUID(originator_id),
        originator_version=notification.originator_version,
        topic=notification.topic,
    )
    if embeddable(notification.state):
        record.state = msgspec.Raw(notification.state)
    else:
        record.state_base64 = base64.b64encode(notification.state).decode("ascii")
    return _encoder.encode(record) + b"\n"


def iter_notifications(
    log: NotificationReader,
    start: int = 1,
    stop: int | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[Sequence[LoggedEvent]]:
    """The log from ``start`` to ``stop`` (inclusive), a page at a time."""
    position = start
    while True:
        page = log.select_notifications(position, page_size, stop)
        if not page:
            return
        yield page
        if len(page) < page_size:
            return
        position = page[-1].id + 1


def export_log(
    log: NotificationReader,
    out: BinaryIO,
    start: int = 1,
    stop: int | None = None,
    page_size: int = PAGE_SIZE,
) -> int:
    """Write the notifications from ``start`` to ``stop`` to ``out``; return how many."""
    written = 0
    for page in iter_notifications(log, start, stop, page_size):
        out.write(b"".join(encode_record(notification) for notification in page))
        written += len(page)
    return written
