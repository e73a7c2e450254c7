"""Raw delivery reads headers, statuses and stream sequences as nats-py's ``Msg`` does."""

from __future__ import annotations

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from events.delivery import Delivered, NotJetStream, parse_headers, stream_seq_of, subscribe_raw

V1 = "$JS.ACK.BERTH_EVENTS.proj-read-models.1.4711.12.1764201600000000000.3"
V2 = "$JS.ACK.hub.ACCOUNTHASH.BERTH_EVENTS.proj-read-models.2.4711.12.1764201600000000000.0.x9"


@pytest.mark.parametrize("reply", [V1, V2, V2.rpartition(".")[0]], ids=["v1", "v2", "v2-short"])
def test_the_stream_sequence_is_read_from_either_form_of_reply_subject(reply: str) -> None:
    msg = Msg(_client=None, subject="berth.ev.session.x.SessionRequested", reply=reply)  # type: ignore[arg-type]
    assert stream_seq_of(reply) == msg.metadata.sequence.stream == 4711


@pytest.mark.parametrize("reply", ["", "_INBOX.abc", "$JS.ACK.S.C.1.2", "$JS.NAK.S.C.1.2.3.4.5"])
def test_a_reply_subject_of_no_jetstream_message_is_refused(reply: str) -> None:
    with pytest.raises(NotJetStream):
        stream_seq_of(reply)


def test_headers_are_read_by_name_with_values_stripped() -> None:
    raw = b"NATS/1.0\r\nNats-Msg-Id: 42\r\nBerth-Topic:session.SessionRequested@1\r\n\r\n"
    assert parse_headers(raw) == (
        {"Nats-Msg-Id": "42", "Berth-Topic": "session.SessionRequested@1"},
        None,
    )


def test_malformed_header_lines_are_left_out_and_a_repeated_name_keeps_the_last() -> None:
    raw = b"NATS/1.0\r\nno colon\r\nbad name: x\r\n: empty\r\nA: 1\r\nA: 2\r\n\r\n"
    assert parse_headers(raw) == ({"A": "2"}, None)


def test_an_inline_status_is_read_with_its_description_and_any_headers() -> None:
    assert parse_headers(b"NATS/1.0 408 Request Timeout\r\n\r\n") == (
        {},
        ("408", "Request Timeout"),
    )
    assert parse_headers(b"NATS/1.0 404\r\n\r\n") == ({}, ("404", ""))
    heartbeat = b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 16\r\n\r\n"
    assert parse_headers(heartbeat) == ({"Nats-Last-Consumer": "16"}, ("100", "Idle Heartbeat"))


def test_the_headers_agree_with_nats_py_on_the_same_block() -> None:
    raw = b"NATS/1.0\r\nNats-Msg-Id: 7\r\nX-Two:  a b \r\n\r\n"
    ours, _ = parse_headers(raw)
    assert ours == Client()._parse_header_lines(raw[len(b"NATS/1.0\r\n") :])


def test_a_message_without_headers_has_none_and_no_status() -> None:
    msg = Delivered(Client(), "s", V1, b"x", b"")
    assert msg.headers is None
    assert msg.status is None
    assert msg.stream_seq == 4711


async def test_a_message_without_a_reply_subject_cannot_be_acknowledged() -> None:
    with pytest.raises(NotJetStream):
        await Delivered(Client(), "s", "", b"x", b"").ack()


async def test_a_client_without_the_parser_entry_it_wraps_is_refused_plainly() -> None:
    class OtherClient:
        pass

    async def handler(msg: Delivered) -> None:
        pass

    with pytest.raises(RuntimeError, match="the nats-py version pyproject"):
        await subscribe_raw(OtherClient(), "x", handler)  # type: ignore[arg-type]
