"""The raw figures the backbone is measured against: the store alone and JetStream alone.

- The store: ``EventStore.save`` of prepared session requests, in batches of
  100 (and, for reference, one at a time), into a store of its own.
- JetStream: ``publish_async``, pipelined, of the payloads that store holds, to
  a scratch stream with the same storage as ``BERTH_EVENTS``; once plain, and
  once with the headers the relay sends (``Nats-Msg-Id``, which the server
  checks against its de-duplication window, and the event's topic).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.js.api import StreamConfig

from events.streams import StreamDurability
from events.subjects import MSG_ID_HEADER, TOPIC_HEADER
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.bench.writer import in_batches, new_sessions, save_all

BATCH = 100
SCRATCH_STREAM = "BENCH_RAW"
SCRATCH_SUBJECTS = "bench.raw.>"
#: publishes in flight at once, as many as the relay keeps (twice its batch)
PIPELINE_WINDOW = 2000


@dataclass(frozen=True)
class StoreFigures:
    batched_eps: float
    batched_events: int


@dataclass(frozen=True)
class SingleSaves:
    """One event per save: a reference figure (every save is a commit of its own)."""

    eps: float
    events: int


def measure_store(
    settings: StoreSettings, events: int
) -> tuple[StoreFigures, list[tuple[str, bytes]]]:
    """The insert rate in batches; also returns a sample of the stored (topic, payload) pairs."""
    with EventStore(settings) as store:
        batches = list(in_batches(new_sessions(events), BATCH))
        started = time.perf_counter()
        save_all(store, batches)
        batched_s = time.perf_counter() - started
        sample = [(n.topic, n.state) for n in store.app_recorder.select_notifications(1, 1000)]
    return StoreFigures(batched_eps=events / batched_s, batched_events=events), sample


def measure_single_saves(settings: StoreSettings, singles: int, budget_s: float) -> SingleSaves:
    """Saves of one event each: at most ``singles`` of them, for at most ``budget_s``."""
    with EventStore(settings) as store:
        sessions = new_sessions(singles)
        stored = 0
        started = time.perf_counter()
        deadline = started + budget_s
        for session in sessions:
            store.save(session)
            stored += 1
            if time.perf_counter() > deadline:
                break
        elapsed = time.perf_counter() - started
    return SingleSaves(eps=stored / elapsed, events=stored)


@dataclass(frozen=True)
class JetStreamFigures:
    plain_mps: float
    with_headers_mps: float
    messages: int
    mean_payload_bytes: float


async def measure_jetstream(
    nc: NATS, sample: list[tuple[str, bytes]], messages: int
) -> JetStreamFigures:
    js = nc.jetstream(publish_async_max_pending=PIPELINE_WINDOW)
    durability = StreamDurability()
    await js.add_stream(
        StreamConfig(
            name=SCRATCH_STREAM,
            subjects=[SCRATCH_SUBJECTS],
            storage=durability.storage,
            num_replicas=durability.replicas,
            duplicate_window=durability.duplicate_window,
        )
    )
    try:
        plain = await _publish(nc, sample, messages, with_headers=False)
        with_headers = await _publish(nc, sample, messages, with_headers=True)
    finally:
        await js.delete_stream(SCRATCH_STREAM)
    return JetStreamFigures(
        plain_mps=messages / plain,
        with_headers_mps=messages / with_headers,
        messages=messages,
        mean_payload_bytes=sum(len(p) for _, p in sample) / len(sample),
    )


async def _publish(
    nc: NATS, sample: list[tuple[str, bytes]], messages: int, *, with_headers: bool
) -> float:
    """Seconds to publish ``messages`` and have every acknowledgement back."""
    js = nc.jetstream(publish_async_max_pending=PIPELINE_WINDOW)
    run = uuid.uuid4().hex[:8]
    # Subjects and headers are made before the clock starts: only the transport is timed.
    prepared = []
    for n in range(messages):
        topic, payload = sample[n % len(sample)]
        headers = {MSG_ID_HEADER: f"{run}-{n}", TOPIC_HEADER: topic} if with_headers else None
        prepared.append((f"bench.raw.{run}.{n % 1000}", payload, headers))
    started = time.perf_counter()
    acks = [
        await js.publish_async(subject, payload, headers=headers)
        for subject, payload, headers in prepared
    ]
    await js.publish_async_completed()
    elapsed = time.perf_counter() - started
    for ack in acks:
        ack.result()  # raises if the server refused one: count only acknowledged publishes
    return elapsed
