"""The pull reader hands over what arrived, asks for more in time, notices a deleted consumer."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from nats.protocol.parser import Parser

from events.delivery import Delivered, delivered_of
from events.pull import ConsumerGone, PullReader

SID = 7


class FakeSubscription:
    _id = SID

    async def unsubscribe(self) -> None:
        pass


class FakeNats:
    """Records pull requests; the test plays the server through the client's parser."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.stats = {"reconnects": 0, "in_msgs": 0, "in_bytes": 0}
        self._ps = Parser(self)

    def new_inbox(self) -> str:
        return "_INBOX.reader"

    async def subscribe(self, subject: str) -> FakeSubscription:
        return FakeSubscription()

    async def _process_msg(
        self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes | None
    ) -> None:
        raise AssertionError(f"message for subscription {sid} went past the reader")

    async def publish(self, subject: str, payload: bytes, reply: str = "") -> None:
        assert subject == "$JS.API.CONSUMER.MSG.NEXT.BERTH_EVENTS.proj-m"
        self.requests.append(json.loads(payload))

    async def _hmsg(self, subject: bytes, reply: bytes, headers: bytes, payload: bytes) -> None:
        size = len(headers) + len(payload)
        args = b" ".join(a for a in (subject, b"%d" % SID, reply) if a)
        await self._ps.parse(
            b"HMSG %s %d %d\r\n%s%s\r\n" % (args, len(headers), size, headers, payload)
        )

    async def deliver(self, *seqs: int) -> None:
        for seq in seqs:
            reply = f"$JS.ACK.BERTH_EVENTS.proj-m.1.{seq}.{seq}.0.0".encode()
            await self._hmsg(b"berth.ev.x", reply, b"NATS/1.0\r\nA: b\r\n\r\n", b"{}")

    async def status(self, code: str, description: str) -> None:
        headers = f"NATS/1.0 {code} {description}\r\n\r\n".encode()
        await self._hmsg(b"_INBOX.reader", b"", headers, b"")


async def started(batch_size: int = 3) -> tuple[FakeNats, PullReader[Delivered]]:
    nc = FakeNats()
    reader = PullReader(
        nc,  # type: ignore[arg-type]
        "BERTH_EVENTS",
        "proj-m",
        make=delivered_of(nc),  # type: ignore[arg-type]
        batch_size=batch_size,
    )
    await reader.start()
    return nc, reader


def seqs(messages: list[Delivered]) -> list[int]:
    return [m.stream_seq for m in messages]


async def test_what_has_arrived_is_handed_over_in_order_a_batch_at_a_time() -> None:
    nc, reader = await started(batch_size=3)
    await nc.deliver(1, 2, 3)
    await nc.deliver(4)
    stop = asyncio.Event()

    assert seqs(await reader.next_batch(stop, 1.0)) == [1, 2, 3]
    assert seqs(await reader.next_batch(stop, 1.0)) == [4]


async def test_the_next_request_goes_out_when_one_is_filled_and_the_batch_taken() -> None:
    nc, reader = await started(batch_size=3)
    assert [r["batch"] for r in nc.requests] == [3]
    await nc.deliver(1, 2, 3)
    # A full batch waits to be taken: no more is asked for meanwhile.
    assert len(nc.requests) == 1
    await reader.next_batch(asyncio.Event(), 1.0)
    assert len(nc.requests) == 2


async def test_an_expired_request_is_renewed() -> None:
    nc, _ = await started()
    await nc.status("408", "Request Timeout")
    assert len(nc.requests) == 2


async def test_nothing_arriving_gives_an_empty_batch_after_the_timeout_or_at_stop() -> None:
    _, reader = await started()
    assert await reader.next_batch(asyncio.Event(), 0.05) == []
    stop = asyncio.Event()
    stop.set()
    assert await reader.next_batch(stop, 30.0) == []


async def test_a_deleted_consumer_is_reported() -> None:
    nc, reader = await started()
    await nc.status("409", "Consumer Deleted")
    with pytest.raises(ConsumerGone, match="Consumer Deleted"):
        await reader.next_batch(asyncio.Event(), 1.0)


async def test_a_request_lost_with_the_connection_is_sent_again() -> None:
    nc, reader = await started()
    nc.stats["reconnects"] += 1
    assert await reader.next_batch(asyncio.Event(), 0.01) == []
    assert len(nc.requests) == 2


async def test_an_idle_heartbeat_is_no_message() -> None:
    nc, reader = await started()
    await nc.status("100", "Idle Heartbeat")
    assert await reader.next_batch(asyncio.Event(), 0.01) == []
    assert len(nc.requests) == 1


async def test_a_batch_gathers_until_it_is_full_when_asked_to() -> None:
    nc, reader = await started(batch_size=3)
    await nc.deliver(1)
    loop = asyncio.get_running_loop()
    loop.call_later(0.02, lambda: asyncio.ensure_future(nc.deliver(2, 3, 4)))
    started_at = time.monotonic()

    batch = await reader.next_batch(asyncio.Event(), 1.0, gather_until=started_at + 10.0)

    # Taken as soon as it was full, long before the time it could have waited for.
    assert seqs(batch) == [1, 2, 3]
    assert time.monotonic() - started_at < 5.0


async def test_a_batch_that_does_not_fill_is_taken_at_the_time_given() -> None:
    nc, reader = await started(batch_size=3)
    await nc.deliver(1)
    started_at = time.monotonic()

    batch = await reader.next_batch(asyncio.Event(), 1.0, gather_until=started_at + 0.05)

    assert seqs(batch) == [1]
    assert time.monotonic() - started_at >= 0.05


async def test_a_time_already_past_takes_what_has_arrived_at_once() -> None:
    nc, reader = await started(batch_size=3)
    await nc.deliver(1)
    started_at = time.monotonic()

    batch = await reader.next_batch(asyncio.Event(), 1.0, gather_until=started_at - 1.0)

    assert seqs(batch) == [1]
    assert time.monotonic() - started_at < 0.05


async def test_stop_ends_the_gathering() -> None:
    nc, reader = await started(batch_size=3)
    await nc.deliver(1)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.02, stop.set)
    started_at = time.monotonic()

    batch = await reader.next_batch(stop, 1.0, gather_until=started_at + 10.0)

    assert seqs(batch) == [1]
    assert time.monotonic() - started_at < 5.0


async def test_a_message_the_reader_cannot_keep_is_raised_from_the_next_batch() -> None:
    nc = FakeNats()

    def make(subject: bytes, reply: bytes, headers: bytes, data: bytes) -> int:
        if data != b"{}":
            raise ValueError(f"cannot keep {data!r}")
        return int(reply.split(b".")[5])

    reader = PullReader(nc, "BERTH_EVENTS", "proj-m", make=make, batch_size=5)  # type: ignore[arg-type]
    await reader.start()
    await nc.deliver(1, 2)
    await nc._hmsg(b"berth.ev.x", b"$JS.ACK.BERTH_EVENTS.proj-m.1.3.3.0.0", b"", b"not kept")
    await nc.deliver(4)  # the parser reads on (the client is not disturbed); 4 is not kept
    stop = asyncio.Event()
    assert await reader.next_batch(stop, 1.0) == [1, 2]
    with pytest.raises(ValueError, match="cannot keep b'not kept'"):
        await reader.next_batch(stop, 1.0)
