"""An envelope holds what the message's headers say, however they are spelled."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import Notification

from events.delivery import NotJetStream, parse_headers
from events.relay import _frame
from projections.envelope import _RELAYED, Envelope

REPLY = "$JS.ACK.BERTH_EVENTS.proj-read-models.1.4711.12.1764201600000000000.3"
SUBJECT = "berth.ev.session.0190f0e8-7c1a-8000-8000-000000000001.SessionRequested"
PAYLOAD = b'{"originator_id":"0190f0e8-7c1a-8000-8000-000000000001"}'
TOPIC = "session.SessionRequested@1"


def _delivered(headers: bytes) -> Envelope:
    """The envelope of a message as a consumer delivers it, with ``headers``."""
    return Envelope.from_wire(SUBJECT.encode(), REPLY.encode(), headers, PAYLOAD)


def _parsed(headers: bytes) -> Envelope:
    """The envelope as reading every header by name makes it."""
    return Envelope.from_parts(4711, SUBJECT, parse_headers(headers)[0] or None, PAYLOAD)


def _relays_header_block() -> bytes:
    """The header block of a frame as the relay sends it."""
    notification = Notification(
        id=90210,
        originator_id="0190f0e8-7c1a-8000-8000-000000000001",
        originator_version=1,
        topic=TOPIC,
        state=b"{}",
    )
    frame = b"".join(_frame(notification, 90209, 1024 * 1024))
    control, _, rest = frame.partition(b"\r\n")
    return rest[: int(control.split()[2])]


def test_the_relays_header_block_is_read_without_parsing_each_header() -> None:
    block = _relays_header_block()
    assert _RELAYED.fullmatch(block) is not None
    envelope = _delivered(block)
    assert envelope == _parsed(block)
    assert envelope == Envelope(4711, SUBJECT, 90210, TOPIC, PAYLOAD)


@pytest.mark.parametrize(
    "block",
    [
        b"NATS/1.0\r\nNats-Msg-Id: 7\r\nBerth-Topic: session.SessionRequested@1\r\n\r\n",
        b"NATS/1.0\r\nBerth-Topic: session.SessionRequested@1\r\nNats-Msg-Id: 7\r\n\r\n",
        b"NATS/1.0\r\nNats-Msg-Id:7\r\nBerth-Topic:  session.SessionRequested@1 \r\n\r\n",
        b"NATS/1.0\r\nNats-Msg-Id: 7\r\nNats-Msg-Id: 8\r\nBerth-Topic: t@1\r\n\r\n",
        b"NATS/1.0\r\nNats-Msg-Id: 7\r\nBerth-Topic: t@1\r\nX-Other: y\r\n\r\n",
        b"NATS/1.0\r\nNats-Msg-Id: seven\r\nBerth-Topic: t@1\r\n\r\n",
        b"NATS/1.0\r\nNats-Msg-Id: 7\r\nBerth-Topic: \r\n\r\n",
        b"NATS/1.0\r\nNats-Msg-Id: 7\r\n\r\n",
        b"NATS/1.0\r\n\r\n",
        b"",
    ],
    ids=[
        "without-expected-sequence",
        "reordered",
        "spaced",
        "repeated",
        "extra",
        "non-numeric-id",
        "empty-topic",
        "no-topic",
        "none",
        "no-block",
    ],
)
def test_any_header_block_gives_what_its_headers_say(block: bytes) -> None:
    assert _delivered(block) == _parsed(block)


def test_a_message_without_a_jetstream_reply_subject_has_no_envelope() -> None:
    with pytest.raises(NotJetStream):
        Envelope.from_wire(SUBJECT.encode(), b"_INBOX.x", b"", PAYLOAD)
