"""A message from ``BERTH_EVENTS`` as the runner sees it, before decoding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from events.delivery import Delivered
from events.subjects import MSG_ID_HEADER, TOPIC_HEADER


class Envelope(NamedTuple):
    """A named tuple: one is made for every message, so it is kept light."""

    stream_seq: int
    subject: str
    #: the store's notification id, from ``Nats-Msg-Id``; None when absent or not a number
    notification_id: int | None
    #: the versioned event type, from ``Berth-Topic``
    topic: str | None
    payload: bytes

    @classmethod
    def of(cls, msg: Delivered) -> Envelope:
        return cls.from_parts(msg.stream_seq, msg.subject, msg.headers, msg.data)

    @classmethod
    def from_parts(
        cls, stream_seq: int, subject: str, headers: Mapping[str, str] | None, payload: bytes
    ) -> Envelope:
        headers = headers or {}
        msg_id = headers.get(MSG_ID_HEADER, "")
        return cls(
            stream_seq=stream_seq,
            subject=subject,
            notification_id=int(msg_id) if msg_id.isdigit() else None,
            topic=headers.get(TOPIC_HEADER) or None,
            payload=payload,
        )
