"""The durable JetStream consumer of each projection, kept in step with its tables.

The tables hold the truth about how far a projection got; the consumer is only a
way to read on from there. At start the consumer is reused when it has delivered
exactly what the tables hold; otherwise it is recreated to deliver from the next
message. That makes a restart exact and immediate: nothing waits for the server to
redeliver anything.

The consumer takes no acknowledgements (``AckPolicy.NONE``): the server forgets each
message as it delivers it, which spares it the bookkeeping of every message in flight.
Nothing relies on redelivery: the runner checks that every batch follows on from the
last without a gap, and re-opens the consumer from the tables' position whenever it
does not, or whenever its connection was re-established (a pull's messages in flight
on the lost connection are gone).
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy
from nats.js.errors import NotFoundError

from events.subjects import EVENTS_WILDCARD, MSG_ID_HEADER
from projections.positions import Position

log = logging.getLogger("berth.projections")


def consumer_name(projection: str) -> str:
    return f"proj-{projection}"


async def resume_seq(js: JetStreamContext, stream: str, name: str, position: Position) -> int:
    """The stream sequence to read next, for tables that hold ``position``.

    The stored sequence is trusted only when the message there still carries
    the stored notification id. If it does not, the stream has been rebuilt
    (re-published by the relay into a new stream), and reading starts from the
    first message: what the tables already hold is passed over by notification id.
    """
    state = (await js.stream_info(stream)).state
    first = max(state.first_seq, 1)
    if position.notification_id == 0:
        return first
    if 0 < position.stream_seq <= state.last_seq:
        try:
            msg = await js.get_msg(stream, seq=position.stream_seq)
        except NotFoundError:
            pass
        else:
            if (msg.headers or {}).get(MSG_ID_HEADER) == str(position.notification_id):
                return max(position.stream_seq + 1, first)
    log.warning(
        "%s: stream message %d is not notification %d; the stream was rebuilt, so reading "
        "it again from the start and passing over what the tables hold",
        name,
        position.stream_seq,
        position.notification_id,
    )
    return first


def _agrees(info: ConsumerInfo, start_seq: int) -> bool:
    delivered = info.delivered.stream_seq if info.delivered else 0
    acked = info.ack_floor.stream_seq if info.ack_floor else 0
    return (
        delivered == acked == start_seq - 1
        and info.config.filter_subject == EVENTS_WILDCARD
        and info.config.ack_policy == AckPolicy.NONE
    )


async def open_consumer(js: JetStreamContext, stream: str, durable: str, start_seq: int) -> None:
    """Make sure the durable consumer ``durable`` delivers from ``start_seq``."""
    try:
        info: ConsumerInfo | None = await js.consumer_info(stream, durable)
    except NotFoundError:
        info = None
    if info is not None and _agrees(info, start_seq):
        log.debug("reusing consumer %s at stream seq %d", durable, start_seq)
        return
    if info is not None:
        await js.delete_consumer(stream, durable)
    await js.add_consumer(
        stream,
        ConsumerConfig(
            name=durable,
            durable_name=durable,
            description="a Berth read model",
            filter_subject=EVENTS_WILDCARD,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start_seq,
            ack_policy=AckPolicy.NONE,
        ),
    )
    log.debug("consumer %s (re)created at stream seq %d", durable, start_seq)


async def delete_consumer(js: JetStreamContext, stream: str, durable: str) -> bool:
    try:
        return await js.delete_consumer(stream, durable)
    except NotFoundError:
        return False
