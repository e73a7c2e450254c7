"""``berth events tail``: the stream as it grows, narrowed to what the reader asks for.

Filters become a JetStream subject filter (``berth.ev.<kind>.<id>.<EventName>``),
so the server, not the reader, skips what does not match.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from nats.js import JetStreamContext

from events.subjects import EVENTS_PREFIX, events_filter
from services.manager.audit.event_view import EventView, describe
from services.manager.audit.stream_reader import read_stream, start_of_last, stream_bounds


class FilterError(ValueError):
    """Filters that cannot be combined into a subject."""


@dataclass(frozen=True)
class TailFilter:
    kind: str | None = None
    aggregate_id: UUID | None = None
    #: ``EventName`` or ``kind.EventName``
    event_type: str | None = None

    def subject(self) -> str:
        kind = self.kind
        event_name = self.event_type
        if event_name is not None and "." in event_name:
            type_kind, _, event_name = event_name.partition(".")
            if kind is not None and kind != type_kind:
                raise FilterError(f"--type {self.event_type} is not of kind {kind!r}")
            kind = type_kind
        for label, token in (("kind", kind), ("type", event_name)):
            if token is not None and (not token or any(c in token for c in ".*> \t")):
                raise FilterError(f"{label} {token!r} is not a single subject token")
        return events_filter(
            kind or "*",
            str(self.aggregate_id) if self.aggregate_id else "*",
            event_name or "*",
        )


@dataclass(frozen=True)
class TailEntry:
    seq: int
    notification_id: int | None
    subject: str
    aggregate_id: str
    view: EventView

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.notification_id,
            "subject": self.subject,
            "aggregate_id": self.aggregate_id,
            **self.view.to_json(),
        }


def aggregate_of(subject: str) -> str:
    """The aggregate id token of an event subject ('' for a subject of another shape)."""
    tokens = subject.split(".")
    prefix_len = EVENTS_PREFIX.count(".") + 1
    return tokens[prefix_len + 1] if len(tokens) == prefix_len + 3 else ""


async def tail(
    js: JetStreamContext,
    tail_filter: TailFilter,
    *,
    last: int | None = None,
    follow: bool = True,
) -> AsyncGenerator[TailEntry, None]:
    """Matching events: the last ``last`` of them (all when None), then new ones if following."""
    subject = tail_filter.subject()
    start_seq = None if last is None else await start_of_last(js, subject, last)
    # Without following, "now" is the stream's end as it is at the start, so a
    # busy stream cannot keep the reader going forever.
    stop_seq = None if follow else (await stream_bounds(js)).last_seq
    messages = read_stream(js, subject, start_seq=start_seq, stop_seq=stop_seq, follow=follow)
    async with aclosing(messages):  # the consumer goes when the reader stops, not at GC
        async for msg in messages:
            yield TailEntry(
                seq=msg.seq,
                notification_id=msg.notification_id,
                subject=msg.subject,
                aggregate_id=aggregate_of(msg.subject),
                view=describe(msg.topic, msg.payload),
            )
