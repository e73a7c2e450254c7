"""Reading ``BERTH_EVENTS`` from any position, fast, without leaving anything behind.

Readers use an ephemeral pull consumer that acknowledges nothing (so it costs
the server no acknowledgement state and disappears shortly after the reader
goes) and fetch in large batches: batching is what lets ``verify`` read a
hundred thousand events in seconds.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from events.streams import EVENTS_STREAM
from events.subjects import EVENTS_WILDCARD, MSG_ID_HEADER, TOPIC_HEADER

FETCH_BATCH = 2000
#: an abandoned reader's consumer is removed by the server after this many seconds
INACTIVE_THRESHOLD = 30.0


@dataclass(frozen=True)
class StreamMessage:
    seq: int
    subject: str
    #: the store's notification id (``Nats-Msg-Id``), None when absent or not a number
    notification_id: int | None
    topic: str | None
    payload: bytes


@dataclass(frozen=True)
class StreamBounds:
    first_seq: int
    last_seq: int
    messages: int


async def stream_bounds(js: JetStreamContext, stream: str = EVENTS_STREAM) -> StreamBounds:
    state = (await js.stream_info(stream)).state
    return StreamBounds(state.first_seq, state.last_seq, state.messages)


def _consumer_config(subject: str, start_seq: int | None) -> ConsumerConfig:
    return ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE if start_seq else DeliverPolicy.ALL,
        opt_start_seq=start_seq or None,
        filter_subject=subject,
        inactive_threshold=INACTIVE_THRESHOLD,
        mem_storage=True,
        num_replicas=1,
    )


async def count_from(
    js: JetStreamContext, subject: str, start_seq: int, stream: str = EVENTS_STREAM
) -> int:
    """How many messages matching ``subject`` lie at or after ``start_seq``."""
    info = await js.add_consumer(stream, _consumer_config(subject, start_seq))
    try:
        return info.num_pending or 0
    finally:
        assert info.name is not None
        await js.delete_consumer(stream, info.name)


async def start_of_last(
    js: JetStreamContext, subject: str, count: int, stream: str = EVENTS_STREAM
) -> int:
    """The sequence from which exactly the last ``count`` matching messages follow.

    The server counts matches from any sequence cheaply, so a binary search
    finds the start without reading the messages before it.
    """
    bounds = await stream_bounds(js, stream)
    low, high = max(bounds.first_seq, 1), bounds.last_seq + 1
    if count <= 0:
        return high
    if await count_from(js, subject, low, stream) <= count:
        return low
    # Invariant: count_from(low) > count, count_from(high) <= count.
    while high - low > 1:
        middle = (low + high) // 2
        if await count_from(js, subject, middle, stream) > count:
            low = middle
        else:
            high = middle
    return high


async def read_stream(
    js: JetStreamContext,
    subject: str = EVENTS_WILDCARD,
    *,
    start_seq: int | None = None,
    stop_seq: int | None = None,
    follow: bool = False,
    batch: int = FETCH_BATCH,
    wait: float = 1.0,
    stream: str = EVENTS_STREAM,
) -> AsyncGenerator[StreamMessage, None]:
    """Messages matching ``subject`` in stream order, from ``start_seq`` (default: the first).

    Without ``follow`` it ends once it has caught up: at ``stop_seq``, or when
    nothing matching is left. With ``follow`` it waits for new messages until
    the caller stops iterating.
    """
    info = await js.add_consumer(stream, _consumer_config(subject, start_seq))
    assert info.name is not None
    sub = await js.pull_subscribe_bind(durable=None, stream=stream, name=info.name)
    try:
        if not follow and not (await sub.consumer_info()).num_pending:
            return
        while True:
            try:
                messages = await sub.fetch(batch, timeout=wait)
            except NatsTimeoutError:
                if follow:
                    continue
                if not (await sub.consumer_info()).num_pending:
                    return
                continue
            for msg in messages:
                meta = msg.metadata
                seq = meta.sequence.stream
                if stop_seq is not None and seq > stop_seq:
                    return
                headers = msg.headers or {}
                msg_id = headers.get(MSG_ID_HEADER, "")
                yield StreamMessage(
                    seq=seq,
                    subject=msg.subject,
                    notification_id=int(msg_id) if msg_id.isdigit() else None,
                    topic=headers.get(TOPIC_HEADER),
                    payload=msg.data,
                )
                if not follow and (seq == stop_seq or meta.num_pending == 0):
                    return
    finally:
        # Best effort: the connection may be gone already; an ephemeral consumer
        # left behind is removed by the server after INACTIVE_THRESHOLD anyway.
        with contextlib.suppress(NatsError):
            await sub.unsubscribe()
            await js.delete_consumer(stream, info.name)
