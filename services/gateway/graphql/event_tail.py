"""Following ``BERTH_EVENTS`` live for ``eventTail``: an ordered push consumer per subscriber.

The filter becomes a subject filter, so the server skips what does not match.
An ordered consumer is ephemeral, has no acknowledgements, pushes each message
as soon as it is stored, and is re-created by the client from the last sequence
it delivered when it sees a gap, so a subscriber gets every matching event
once, in order. ``last`` starts that many matching events back.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from uuid import UUID

from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js.api import ConsumerConfig, DeliverPolicy
from strawberry.scalars import JSON

from events.streams import EVENTS_STREAM
from events.subjects import EVENTS_PREFIX, MSG_ID_HEADER, TOPIC_HEADER
from services.gateway.graphql.types import StreamEvent
from services.manager.audit.event_view import describe
from services.manager.audit.stream_reader import start_of_last
from services.manager.audit.tail import FilterError, TailFilter, aggregate_of

#: messages a slow subscriber may leave waiting in the gateway before the consumer is reset
PENDING_LIMIT = 10_000


class TailError(ValueError):
    """Filters that name no events."""


def tail_subject(kind: str | None, aggregate_id: str | None, event_type: str | None) -> str:
    try:
        aggregate = UUID(aggregate_id) if aggregate_id is not None else None
        return TailFilter(kind=kind, aggregate_id=aggregate, event_type=event_type).subject()
    except FilterError as exc:
        raise TailError(str(exc)) from None
    except ValueError:
        raise TailError(f"aggregate id {aggregate_id!r} is not a UUID") from None


def _kind_and_name(subject: str) -> tuple[str, str]:
    """``(kind, EventName)`` of ``berth.ev.<kind>.<id>.<EventName>``."""
    tokens = subject.split(".")
    first = EVENTS_PREFIX.count(".") + 1
    if len(tokens) != first + 3:
        return "", ""
    return tokens[first], tokens[first + 2]


async def follow_events(nc: NATS, subject: str, last: int) -> AsyncGenerator[StreamEvent, None]:
    js = nc.jetstream()
    if last > 0:
        start = await start_of_last(js, subject, last)
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
    else:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
    sub = await js.subscribe(
        subject,
        stream=EVENTS_STREAM,
        ordered_consumer=True,
        config=config,
        pending_msgs_limit=PENDING_LIMIT,
    )
    try:
        async for msg in sub.messages:
            headers = msg.headers or {}
            msg_id = headers.get(MSG_ID_HEADER, "")
            view = describe(headers.get(TOPIC_HEADER), msg.data)
            kind, event_name = _kind_and_name(msg.subject)
            yield StreamEvent(
                seq=msg.metadata.sequence.stream,
                notification_id=int(msg_id) if msg_id.isdigit() else None,
                subject=msg.subject,
                kind=kind,
                aggregate_id=aggregate_of(msg.subject),
                type=event_name,
                topic=view.topic,
                at=view.timestamp,
                fields=None if view.fields is None else JSON(view.fields),
                error=view.error,
            )
    finally:
        # The connection may be closing already; the server drops an ordered
        # consumer nobody listens to by itself.
        with contextlib.suppress(NatsError):
            await sub.unsubscribe()
