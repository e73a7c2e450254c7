"""Frames queued by hand reach a real nats-server as the messages ``publish`` would send."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import StreamConfig

from events.frames import header_block, header_line, hpub, send_frames


async def test_a_subscriber_reads_frames_as_published_messages(nc: NATS) -> None:
    got: list[Msg] = []

    async def on(msg: Msg) -> None:
        got.append(msg)

    await nc.subscribe("f.>", cb=on)
    frames = [
        hpub(
            f"f.{n}",
            header_block(header_line("Nats-Msg-Id", str(n)), header_line("K", "v w")),
            b"p%d" % n,
            nc.max_payload,
        )
        for n in range(3)
    ]
    await send_frames(nc, frames, len(frames))
    await nc.flush()
    await asyncio.sleep(0.05)
    assert [(m.subject, m.data, m.headers) for m in got] == [
        (f"f.{n}", b"p%d" % n, {"Nats-Msg-Id": str(n), "K": "v w"}) for n in range(3)
    ]


async def test_jetstream_keeps_frames_in_order_and_refuses_a_wrong_expected_sequence(
    nc: NATS,
) -> None:
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="FRAMES", subjects=["frames.>"]))

    def frame(n: int, expected: int) -> bytes:
        block = header_block(
            header_line("Nats-Msg-Id", str(n)),
            header_line("Nats-Expected-Last-Sequence", str(expected)),
        )
        return hpub(f"frames.{n}", block, b"event %d" % n, nc.max_payload)

    await send_frames(nc, [frame(n, n - 1) for n in range(1, 4)], 3)
    # Follows on from 3, so it is stored; the one after names 1 and is refused.
    reply = await nc.request("frames.4", b"event 4", headers={"Nats-Expected-Last-Sequence": "3"})
    assert b'"seq":4' in reply.data
    await send_frames(nc, [frame(5, 1)], 1)
    await nc.flush()
    state = (await js.stream_info("FRAMES")).state
    assert (state.messages, state.last_seq) == (4, 4)
    stored = [await js.get_msg("FRAMES", seq=n) for n in range(1, 4)]
    assert [(m.subject, m.data, (m.headers or {}).get("Nats-Msg-Id")) for m in stored] == [
        (f"frames.{n}", b"event %d" % n, str(n)) for n in range(1, 4)
    ]
