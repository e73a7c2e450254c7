"""The raw parser reads what nats-py's parser reads, however the socket splits it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from nats.errors import ProtocolError
from nats.protocol.parser import Parser

from events.wire import RawParser

RAW_SID = 7


def msg(subject: bytes, sid: int, payload: bytes, reply: bytes = b"") -> bytes:
    args = b" ".join(a for a in (subject, str(sid).encode(), reply) if a)
    return b"MSG %s %d\r\n%s\r\n" % (args, len(payload), payload)


def hmsg(subject: bytes, sid: int, headers: bytes, payload: bytes, reply: bytes = b"") -> bytes:
    args = b" ".join(a for a in (subject, str(sid).encode(), reply) if a)
    size = len(headers) + len(payload)
    return b"HMSG %s %d %d\r\n%s%s\r\n" % (args, len(headers), size, headers, payload)


#: a read of the server's protocol: messages for a raw and an ordinary subscription, with
#: and without headers and reply subjects, an inline status, and the other control lines
STREAM = b"".join(
    [
        b'INFO {"server_id":"x","max_payload":1048576}\r\n',
        hmsg(b"berth.ev.session.a.Requested", 7, b"NATS/1.0\r\n\r\n", b"hello", b"$JS.ACK.S.C.1.1"),
        msg(b"plain.one", 3, b"first"),
        b"PING\r\n",
        hmsg(b"_INBOX.x", 7, b"NATS/1.0 408 Request Timeout\r\n\r\n", b""),
        b"+OK\r\n",
        msg(b"raw.two", 7, b"with\r\nCRLFs", b"reply.to"),
        hmsg(b"plain.two", 3, b"NATS/1.0\r\nX-One: 1\r\n\r\n", b"abc", b"reply.too"),
        b"PONG\r\n",
        msg(b"raw.empty", 7, b""),
    ]
)

#: what each subscription receives: (sid, subject, reply, headers, payload)
EXPECTED = [
    (7, b"berth.ev.session.a.Requested", b"$JS.ACK.S.C.1.1", b"NATS/1.0\r\n\r\n", b"hello"),
    (3, b"plain.one", b"", None, b"first"),
    (7, b"_INBOX.x", b"", b"NATS/1.0 408 Request Timeout\r\n\r\n", b""),
    (7, b"raw.two", b"reply.to", b"", b"with\r\nCRLFs"),
    (3, b"plain.two", b"reply.too", b"NATS/1.0\r\nX-One: 1\r\n\r\n", b"abc"),
    (7, b"raw.empty", b"", b"", b""),
]


class Client:
    """What the parser calls on its client, noted in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []
        self.stats = {"in_msgs": 0, "in_bytes": 0}

    async def _process_msg(
        self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes | None
    ) -> None:
        self.seen.append((sid, subject, reply, headers, data))

    async def _process_info(self, info: dict[str, Any]) -> None:
        self.seen.append(("info", info["server_id"]))

    async def _process_ping(self) -> None:
        self.seen.append(("ping",))

    async def _process_pong(self) -> None:
        self.seen.append(("pong",))

    async def _process_err(self, err: str) -> None:
        self.seen.append(("err", err))


def raw_parser(client: Client) -> RawParser:
    def handler(subject: bytes, reply: bytes, headers: bytes, data: bytes) -> None:
        client.seen.append((RAW_SID, subject, reply, headers, data))

    return RawParser(client, {RAW_SID: handler})


def in_order(seen: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Messages as nats-py's parser hands them on, raw ones with b"" for no headers."""
    return [
        (s[0], s[1], s[2], s[3] if s[0] != RAW_SID else s[3] or b"", s[4])
        for s in seen
        if isinstance(s[0], int)
    ]


async def test_what_nats_py_reads_from_one_read() -> None:
    theirs = Client()
    await Parser(theirs).parse(STREAM)
    assert in_order(theirs.seen) == EXPECTED
    ours = Client()
    await raw_parser(ours).parse(STREAM)
    assert ours.seen == [
        ("info", "x"),
        EXPECTED[0],
        EXPECTED[1],
        ("ping",),
        EXPECTED[2],
        EXPECTED[3],
        EXPECTED[4],
        ("pong",),
        EXPECTED[5],
    ]
    assert ours.stats == {"in_msgs": 4, "in_bytes": len(b"hello" + b"with\r\nCRLFs")}


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
async def test_any_split_of_the_reads_gives_the_same_messages(cut: int) -> None:
    whole, split = Client(), Client()
    await raw_parser(whole).parse(STREAM)
    parser = raw_parser(split)
    await parser.parse(STREAM[:cut])
    await parser.parse(STREAM[cut:])
    assert split.seen == whole.seen


async def test_a_read_a_byte_at_a_time_gives_the_same_messages() -> None:
    whole, trickled = Client(), Client()
    await raw_parser(whole).parse(STREAM)
    parser = raw_parser(trickled)
    for i in range(len(STREAM)):
        await parser.parse(STREAM[i : i + 1])
    assert trickled.seen == whole.seen


@pytest.mark.parametrize(
    "cut",
    [
        STREAM.index(b"HMSG") + 3,  # in a control line
        STREAM.index(b"NATS/1.0") + 4,  # in a header block
        STREAM.index(b"hello") + 2,  # in a payload
        STREAM.index(b"CRLFs") + 5,  # between a payload and its line end
    ],
)
async def test_it_carries_on_from_where_nats_py_stood(cut: int) -> None:
    """Taking over mid-stream (even inside a message's payload) loses and repeats nothing."""
    whole, handed = Client(), Client()
    await raw_parser(whole).parse(STREAM)
    old = Parser(handed)
    await old.parse(STREAM[:cut])
    new = RawParser.taking_over(old, raw_parser(handed).routes)
    await new.parse(STREAM[cut:])
    assert in_order(handed.seen) == in_order(whole.seen)


async def test_a_handlers_sending_is_awaited_before_the_next_message() -> None:
    order: list[str] = []

    async def send() -> None:
        await asyncio.sleep(0)
        order.append("sent")

    def handler(
        subject: bytes, reply: bytes, headers: bytes, data: bytes
    ) -> Awaitable[None] | None:
        order.append(data.decode())
        return send() if data == b"a" else None

    parser = RawParser(Client(), {RAW_SID: handler})
    await parser.parse(b"MSG s 7 1\r\na\r\nMSG s 7 1\r\nb\r\n")
    assert order == ["a", "sent", "b"]


@pytest.mark.parametrize(
    "line", [b"MSG s x 1\r\na\r\n", b"HMSG s 7 r 1 z\r\na\r\n", b"MSG s\r\n", b"WHAT now\r\n"]
)
async def test_a_malformed_line_is_a_protocol_error(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        await raw_parser(Client()).parse(line)


async def test_reset_forgets_a_partial_message() -> None:
    client = Client()
    parser = raw_parser(client)
    await parser.parse(b"MSG raw.x 7 10\r\nabc")
    parser.reset()
    await parser.parse(b"MSG raw.y 7 1\r\nz\r\n")
    assert client.seen == [(RAW_SID, b"raw.y", b"", b"", b"z")]


async def test_what_follows_a_failing_handler_is_read_with_the_next_read() -> None:
    seen: list[bytes] = []

    def handler(subject: bytes, reply: bytes, headers: bytes, data: bytes) -> None:
        if data == b"bad":
            raise RuntimeError("a handler's bug")
        seen.append(data)

    parser = RawParser(Client(), {RAW_SID: handler})
    with pytest.raises(RuntimeError):
        await parser.parse(msg(b"s", RAW_SID, b"bad") + msg(b"s", RAW_SID, b"next"))
    await parser.parse(msg(b"s", RAW_SID, b"last"))
    assert seen == [b"next", b"last"]
