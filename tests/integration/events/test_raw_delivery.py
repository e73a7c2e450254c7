"""Raw delivery against a real nats-server: headers, JetStream acks, and the client's other
subscriptions untouched."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from events.delivery import Delivered, delivered_of, subscribe_raw, unsubscribe_raw
from events.pull import PullReader


async def test_raw_and_ordinary_subscriptions_share_a_client(nc: NATS) -> None:
    raw: list[Delivered] = []
    ordinary: list[Msg] = []

    async def on_raw(msg: Delivered) -> None:
        raw.append(msg)

    async def on_ordinary(msg: Msg) -> None:
        ordinary.append(msg)

    sub = await subscribe_raw(nc, "raw.>", on_raw)
    await nc.subscribe("plain.>", cb=on_ordinary)
    await nc.publish("raw.a", b"1", headers={"Nats-Msg-Id": "7", "Berth-Topic": "t@1"})
    await nc.publish("plain.b", b"2", headers={"X": "y"})
    await nc.publish("raw.c", b"3")
    await nc.flush()
    await asyncio.sleep(0.05)

    assert [(m.subject, m.data, m.headers) for m in raw] == [
        ("raw.a", b"1", {"Nats-Msg-Id": "7", "Berth-Topic": "t@1"}),
        ("raw.c", b"3", None),
    ]
    assert [(m.subject, m.data, m.headers) for m in ordinary] == [("plain.b", b"2", {"X": "y"})]

    await unsubscribe_raw(nc, sub)
    await nc.publish("raw.d", b"4")
    await nc.flush()
    await asyncio.sleep(0.05)
    assert len(raw) == 2


async def test_a_pull_reader_reads_and_acknowledges_a_stream(nc: NATS) -> None:
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="RAW", subjects=["rawjs.>"]))
    for n in range(1, 6):
        await js.publish(f"rawjs.{n}", str(n).encode(), headers={"Nats-Msg-Id": str(n)})
    await js.add_consumer("RAW", ConsumerConfig(durable_name="reader", ack_policy=AckPolicy.ALL))
    reader = PullReader(nc, "RAW", "reader", make=delivered_of(nc), batch_size=3)
    await reader.start()
    stop = asyncio.Event()
    got: list[Delivered] = []
    while len(got) < 5:
        batch = await reader.next_batch(stop, 5.0)
        assert batch, "the stream's messages did not arrive"
        got.extend(batch)
    await got[-1].ack()
    await nc.flush()
    await reader.close()

    assert [(m.stream_seq, m.data, (m.headers or {}).get("Nats-Msg-Id")) for m in got] == [
        (n, str(n).encode(), str(n)) for n in range(1, 6)
    ]
    # The server takes acknowledgements in on its own time: wait for it to have this one.
    for _ in range(100):
        info = await js.consumer_info("RAW", "reader")
        if info.ack_floor.stream_seq == 5:
            break
        await asyncio.sleep(0.02)
    assert info.ack_floor.stream_seq == 5
    assert info.num_pending == 0
