"""A message from ``BERTH_EVENTS`` as the runner sees it, before decoding."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from events.delivery import Delivered
from events.subjects import EXPECTED_LAST_SEQ_HEADER, MSG_ID_HEADER, TOPIC_HEADER

#: the header block as the relay writes it: the notification id, the topic and the
#: stream's expected last sequence, each once, in that order, nothing else. Any
#: other block (another writer's, an import's) is parsed header by header.
_RELAYED = re.compile(
    b"NATS/1\\.0\r\n"
    + re.escape(MSG_ID_HEADER.encode())
    + b": ([0-9]+)\r\n"
    + re.escape(TOPIC_HEADER.encode())
    + b": ([!-~]+)\r\n(?:"
    + re.escape(EXPECTED_LAST_SEQ_HEADER.encode())
    + b": [0-9]+\r\n)?\r\n"
)


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
        relayed = _RELAYED.fullmatch(msg.raw_headers)
        if relayed is None:
            return cls.from_parts(msg.stream_seq, msg.subject, msg.headers, msg.data)
        # The same values as parsing each header gives, without a dict for every message.
        return cls(msg.stream_seq, msg.subject, int(relayed[1]), relayed[2].decode(), msg.data)

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
