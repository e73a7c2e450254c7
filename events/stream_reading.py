"""Reading a stream's history: every message on a subject up to a known sequence, in order.

What an agent does at start, to rebuild what it was told (its decisions on
``BERTH_EVENTS``) and what it said (its facts on ``BERTH_FACTS``). An ephemeral
pull consumer reads the subject from the beginning and goes away by itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


async def read_until(
    js: JetStreamContext, stream: str, subject: str, upto: int
) -> AsyncIterator[Msg]:
    """Every message on ``subject`` with a stream sequence up to ``upto``, in order."""
    if upto <= 0:
        return
    sub = await js.pull_subscribe(
        subject,
        stream=stream,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30.0,
        ),
    )
    try:
        if (await sub.consumer_info()).num_pending == 0:
            return
        while True:
            try:
                msgs = await sub.fetch(1000, timeout=2.0)
            except (NatsTimeout, TimeoutError):  # nats-py raises either
                return
            for msg in msgs:
                if msg.metadata.sequence.stream > upto:
                    return
                yield msg
                if msg.metadata.num_pending == 0:
                    return
    finally:
        with contextlib.suppress(NatsError):
            await sub.unsubscribe()
