"""Lag: from an event's commit in the store to the commit that makes it visible in the read model.

Each event's journey has three clocks, all the machine's wall clock:

- store commit: ``time.time()`` as the save returned (:mod:`tests.bench.writer`);
- on the stream: the time JetStream stored the message, which the server
  stamps on it and delivers in each message's metadata;
- read model: ``time.time()`` as the runner's transaction returned from COMMIT
  (:mod:`tests.bench.projector`).

The stream's stamps are read back after the measurement, so reading them costs
the measured system nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from events.streams import EVENTS_STREAM
from events.subjects import EVENTS_WILDCARD, MSG_ID_HEADER


@dataclass(frozen=True)
class Percentiles:
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    count: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Percentiles:
        ordered = sorted(seconds)
        if not ordered:
            return cls(math.nan, math.nan, math.nan, math.nan, 0)
        return cls(
            p50_ms=_rank(ordered, 50) * 1000,
            p90_ms=_rank(ordered, 90) * 1000,
            p99_ms=_rank(ordered, 99) * 1000,
            max_ms=ordered[-1] * 1000,
            count=len(ordered),
        )


def _rank(ordered: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile: the smallest value with ``percent`` % at or below it."""
    index = max(0, math.ceil(percent / 100 * len(ordered)) - 1)
    return ordered[index]


@dataclass(frozen=True)
class LagFigures:
    #: store commit → read model committed: the figure the target is about
    total: Percentiles
    #: store commit → on the stream (the relay's share)
    to_stream: Percentiles
    #: on the stream → read model committed (the projection's share)
    to_read_model: Percentiles


def lag_figures(
    stored_at: Sequence[float],
    streamed_at: Sequence[float | None],
    projected_at: Sequence[float | None],
) -> LagFigures:
    total, to_stream, to_read_model = [], [], []
    for stored, streamed, projected in zip(stored_at, streamed_at, projected_at, strict=True):
        if projected is not None:
            total.append(projected - stored)
        if streamed is not None:
            to_stream.append(streamed - stored)
            if projected is not None:
                to_read_model.append(projected - streamed)
    return LagFigures(
        total=Percentiles.of(total),
        to_stream=Percentiles.of(to_stream),
        to_read_model=Percentiles.of(to_read_model),
    )


async def stream_times(
    js: JetStreamContext, first_seq: int, count: int, timeout: float = 30.0
) -> dict[int, float]:
    """Notification id → when the stream stored it, for ``count`` messages from ``first_seq``."""
    sub = await js.subscribe(
        EVENTS_WILDCARD,
        stream=EVENTS_STREAM,
        ordered_consumer=True,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=first_seq
        ),
    )
    times: dict[int, float] = {}
    try:
        while len(times) < count:
            msg = await sub.next_msg(timeout)
            msg_id = (msg.headers or {}).get(MSG_ID_HEADER, "")
            if msg_id.isdigit():
                times[int(msg_id)] = msg.metadata.timestamp.timestamp()
    finally:
        await sub.unsubscribe()
    return times
