"""Does ``BERTH_EVENTS`` hold exactly the store's events, in the store's order?

The check the relay's fault tests end with: every stored notification appears on
the stream once, in notification order, nothing else does, and each message
carries the stored bytes under the subject its event names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from events.codec import split_topic
from events.relay import NotificationLog, StoredNotification
from events.streams import EVENTS_STREAM
from events.subjects import EVENTS_WILDCARD, MSG_ID_HEADER, TOPIC_HEADER, event_subject

#: enough to tell what went wrong without burying it
MAX_REPORTED = 20


@dataclass(frozen=True)
class StreamedEvent:
    seq: int
    subject: str
    msg_id: str
    topic: str
    payload: bytes


def read_store(log: NotificationLog, page: int = 1000) -> list[StoredNotification]:
    """Every notification in the store, in notification order."""
    stored: list[StoredNotification] = []
    start = 1
    while batch := log.select_notifications(start, page):
        stored.extend(batch)
        start = batch[-1].id + 1
    return stored


async def read_stream(
    js: JetStreamContext, stream: str = EVENTS_STREAM, *, batch: int = 1000, timeout: float = 10.0
) -> list[StreamedEvent]:
    """Every message on the stream, in stream order, through an ephemeral pull consumer."""
    info = await js.stream_info(stream)
    if info.state.messages == 0:
        return []
    last_seq = info.state.last_seq
    consumer = await js.pull_subscribe(
        EVENTS_WILDCARD,
        stream=stream,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
    )
    streamed: list[StreamedEvent] = []
    try:
        while not streamed or streamed[-1].seq < last_seq:
            for msg in await consumer.fetch(batch, timeout=timeout):
                headers = msg.headers or {}
                streamed.append(
                    StreamedEvent(
                        seq=msg.metadata.sequence.stream,
                        subject=msg.subject,
                        msg_id=headers.get(MSG_ID_HEADER, ""),
                        topic=headers.get(TOPIC_HEADER, ""),
                        payload=msg.data,
                    )
                )
    finally:
        await consumer.unsubscribe()
    return streamed


def expected_subject(notification: StoredNotification) -> str:
    name, _version = split_topic(notification.topic)
    kind, _, event_name = name.partition(".")
    return event_subject(kind, str(notification.originator_id), event_name)


def discrepancies(
    stored: Sequence[StoredNotification], streamed: Sequence[StreamedEvent]
) -> list[str]:
    """What differs between the store and the stream; empty when they agree."""
    problems: list[str] = []
    stored_ids = [str(n.id) for n in stored]
    streamed_ids = [m.msg_id for m in streamed]
    counts = Counter(streamed_ids)
    duplicated = sorted((i for i, c in counts.items() if c > 1), key=_numeric)
    missing = sorted(set(stored_ids) - counts.keys(), key=_numeric)
    extra = sorted(counts.keys() - set(stored_ids), key=_numeric)
    if duplicated:
        problems.append(f"{len(duplicated)} notifications twice on the stream: {_few(duplicated)}")
    if missing:
        problems.append(f"{len(missing)} notifications missing from the stream: {_few(missing)}")
    if extra:
        problems.append(f"{len(extra)} messages not in the store: {_few(extra)}")
    if problems:
        return problems
    if streamed_ids != stored_ids:
        at = next(
            i for i, (a, b) in enumerate(zip(stored_ids, streamed_ids, strict=True)) if a != b
        )
        return [
            f"out of order from position {at}: store {stored_ids[at : at + 5]}, "
            f"stream {streamed_ids[at : at + 5]}"
        ]
    for notification, message in zip(stored, streamed, strict=True):
        where = f"notification {notification.id} (stream seq {message.seq})"
        if message.payload != notification.state:
            problems.append(f"{where}: payload differs from the stored state")
        if message.subject != expected_subject(notification):
            problems.append(
                f"{where}: subject {message.subject!r}, expected {expected_subject(notification)!r}"
            )
        if message.topic != notification.topic:
            problems.append(f"{where}: topic {message.topic!r}, expected {notification.topic!r}")
        if len(problems) >= MAX_REPORTED:
            problems.append("…")
            break
    return problems


def _numeric(msg_id: str) -> tuple[int, str]:
    return (int(msg_id), msg_id) if msg_id.isdigit() else (-1, msg_id)


def _few(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:MAX_REPORTED])
    return shown + (" …" if len(ids) > MAX_REPORTED else "")
