"""A message from ``BERTH_EVENTS`` as the runner sees it, before decoding."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from events.delivery import parse_headers, stream_seq_of
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


_new_tuple = tuple.__new__


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
    def from_wire(cls, subject: bytes, reply: bytes, headers: bytes, payload: bytes) -> Envelope:
        """The envelope of a message as the consumer delivered it (what a
        :class:`~events.pull.PullReader` hands its ``make``); ``NotJetStream`` when its reply
        subject is not a JetStream one (it then has no stream sequence)."""
        stream_seq = stream_seq_of(reply.decode())
        relayed = _RELAYED.fullmatch(headers)
        if relayed is None:
            parsed = parse_headers(headers)[0] if headers else None
            return cls.from_parts(stream_seq, subject.decode(), parsed or None, payload)
        # The same values as parsing each header gives, without a dict for every message
        # (and without the named tuple's Python-level __new__: one is made for every event).
        return _new_tuple(
            cls, (stream_seq, subject.decode(), int(relayed[1]), relayed[2].decode(), payload)
        )

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
