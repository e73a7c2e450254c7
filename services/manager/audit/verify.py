"""``berth events verify``: do the store and the stream hold the same events, in the same order?

Both sides are read in one ordered pass (the store a page at a time, the stream
through a batched consumer) and merged by notification id, so that a missing,
extra, reordered or altered message is named precisely and a hundred thousand
events take seconds. The stream is measured first and the store second: with a
relay running the store can only be ahead, and that difference is the relay's
lag, reported apart from real mismatches.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

from nats.js import JetStreamContext

from events.codec import DecodeError, split_topic
from events.subjects import EVENTS_WILDCARD, event_subject
from services.manager.audit.export import LoggedEvent, NotificationReader, iter_notifications
from services.manager.audit.stream_reader import StreamMessage, read_stream, stream_bounds

STORE_PAGE = 5000
MAX_REPORTED = 10


@dataclass(frozen=True)
class Mismatch:
    #: ``missing`` (in the store, not on the stream), ``extra`` (on the stream only),
    #: ``out-of-order`` or ``different`` (same id, other content)
    kind: str
    detail: str
    notification_id: int | None = None
    stream_seq: int | None = None


@dataclass
class VerifyReport:
    store_count: int = 0
    stream_count: int = 0
    matched: int = 0
    missing: int = 0
    extra: int = 0
    out_of_order: int = 0
    different: int = 0
    #: store events after the last one on the stream: not yet relayed
    lag: int = 0
    store_last_id: int = 0
    stream_last_id: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return self.missing + self.extra + self.out_of_order + self.different

    @property
    def identical(self) -> bool:
        return self.problems == 0 and self.lag == 0

    def passed(self, allow_lag: bool = False) -> bool:
        return self.problems == 0 and (allow_lag or self.lag == 0)

    def note(self, mismatch: Mismatch) -> None:
        if len(self.mismatches) < MAX_REPORTED:
            self.mismatches.append(mismatch)

    def retract(self, kind: str, notification_id: int) -> None:
        self.mismatches = [
            m for m in self.mismatches if (m.kind, m.notification_id) != (kind, notification_id)
        ]


def expected_subject(notification: LoggedEvent) -> str | None:
    try:
        name, _version = split_topic(notification.topic)
    except DecodeError:
        return None
    kind, _, event_name = name.partition(".")
    return event_subject(kind, str(notification.originator_id), event_name)


def differences(notification: LoggedEvent, msg: StreamMessage) -> list[str]:
    found = []
    subject = expected_subject(notification)
    if subject is None:
        found.append(f"the store's topic {notification.topic!r} is malformed")
    elif msg.subject != subject:
        found.append(f"subject {msg.subject} where {subject} was expected")
    if msg.topic != notification.topic:
        found.append(f"topic {msg.topic!r} where {notification.topic!r} was expected")
    if msg.payload != notification.state:
        found.append(
            f"payload of {len(msg.payload)} bytes differs from the stored {len(notification.state)}"
            f" (first difference at byte {_first_difference(msg.payload, notification.state)})"
        )
    return found


class _StoreCursor:
    """The store's log as one ordered sequence, read a page at a time off the event loop."""

    def __init__(self, log: NotificationReader, stop: int, page_size: int) -> None:
        self._pages: Iterator[Sequence[LoggedEvent]] = iter_notifications(log, 1, stop, page_size)
        self._page: Sequence[LoggedEvent] = ()
        self._index = 0

    async def next(self) -> LoggedEvent | None:
        if self._index >= len(self._page):
            self._page = await asyncio.to_thread(next, self._pages, ())
            self._index = 0
            if not self._page:
                return None
        notification = self._page[self._index]
        self._index += 1
        return notification


async def verify(
    log: NotificationReader,
    js: JetStreamContext,
    store_last_id: int,
    *,
    stream_last_seq: int | None = None,
    page_size: int = STORE_PAGE,
) -> VerifyReport:
    """Compare the store's log up to ``store_last_id`` with the stream up to its last message.

    Take ``stream_last_seq`` (``stream_bounds``) before ``store_last_id`` when a
    relay may be running, so that a difference between them shows as lag.
    """
    if stream_last_seq is None:
        stream_last_seq = (await stream_bounds(js)).last_seq
    messages = (
        read_stream(js, EVENTS_WILDCARD, stop_seq=stream_last_seq)
        if stream_last_seq > 0
        else _nothing()
    )
    async with aclosing(messages):
        return await compare(log, store_last_id, messages, page_size=page_size)


async def compare(
    log: NotificationReader,
    store_last_id: int,
    messages: AsyncIterable[StreamMessage],
    *,
    page_size: int = STORE_PAGE,
) -> VerifyReport:
    """Merge the store's log and the stream's messages by notification id, noting every mismatch."""
    report = VerifyReport(store_last_id=store_last_id)
    store = _StoreCursor(log, store_last_id, page_size)
    current = await store.next()
    missing_ids: set[int] = set()
    async for msg in messages:
        report.stream_count += 1
        nid = msg.notification_id
        if nid is None:
            report.extra += 1
            report.note(
                Mismatch(
                    "extra",
                    f"stream seq {msg.seq} ({msg.subject}) carries no notification id",
                    stream_seq=msg.seq,
                )
            )
            continue
        if nid <= report.stream_last_id:
            if nid in missing_ids:  # counted missing before: it is only late
                missing_ids.discard(nid)
                report.missing -= 1
                report.retract("missing", nid)
            report.out_of_order += 1
            report.note(
                Mismatch(
                    "out-of-order",
                    f"stream seq {msg.seq} holds notification {nid} "
                    f"after notification {report.stream_last_id}",
                    nid,
                    msg.seq,
                )
            )
            continue
        report.stream_last_id = nid
        while current is not None and current.id < nid:
            report.store_count += 1
            report.missing += 1
            missing_ids.add(current.id)
            report.note(
                Mismatch(
                    "missing",
                    f"notification {current.id} is not on the stream "
                    f"(stream seq {msg.seq} holds notification {nid})",
                    current.id,
                    msg.seq,
                )
            )
            current = await store.next()
        if current is None or current.id > nid:
            report.extra += 1
            report.note(
                Mismatch(
                    "extra",
                    f"stream seq {msg.seq} holds notification {nid}, which the store does not have",
                    nid,
                    msg.seq,
                )
            )
            continue
        report.store_count += 1
        found = differences(current, msg)
        if found:
            report.different += 1
            report.note(Mismatch("different", "; ".join(found), nid, msg.seq))
        else:
            report.matched += 1
        current = await store.next()
    while current is not None:
        report.store_count += 1
        report.lag += 1
        current = await store.next()
    return report


async def _nothing() -> AsyncGenerator[StreamMessage, None]:
    return
    yield


def _first_difference(a: bytes, b: bytes) -> int:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))
