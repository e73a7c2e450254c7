"""Fault tests with real processes: whatever happens to the relay or to NATS,
``BERTH_EVENTS`` ends up holding exactly the stored events, in order, once each.

A writer process stores 10,000 events in small random batches while relay
processes (``python -m services.manager relay``) are killed with SIGKILL at
random moments and restarted, or while nats-server itself is restarted. Then the
last relays are left to catch up, and the whole stream is compared with the store.
Each test prints its random seed; ``BERTH_TEST_SEED`` replays it.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections.abc import Awaitable, Callable

import pytest
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import APIError

from events.relay import stream_position
from events.streams import EVENTS_STREAM
from services.manager.store import EventStore
from tests.conftest import NatsServer
from tests.integration.relay.processes import Processes
from tests.integration.relay.verify import discrepancies, read_store, read_stream

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

EVENTS = 10_000
#: generous: on a busy two-core machine a relay takes a second or two just to start
PATIENCE = 90.0
#: what a relay logs once it has read the stream's last message
RESUMED = "relay resumes after notification"


async def test_relay_killed_at_random_moments(
    event_store: EventStore, nc: NATS, processes: Processes, fault_seed: int
) -> None:
    js = nc.jetstream()
    writer = processes.writer(EVENTS, fault_seed)
    rng = random.Random(fault_seed)
    print("\n".join(await kill_repeatedly(processes, "relay", rng, writer, js, event_store, 4)))

    processes.relay("relay-last")
    await finish(event_store, js, processes, writer, ["relay-last"])


async def test_two_relays_killed_at_random_moments(
    event_store: EventStore, nc: NATS, processes: Processes, fault_seed: int
) -> None:
    js = nc.jetstream()
    writer = processes.writer(EVENTS, fault_seed)
    slots = [
        kill_repeatedly(
            processes, name, random.Random(f"{fault_seed}-{name}"), writer, js, event_store, 3
        )
        for name in ("relay-a", "relay-b")
    ]
    for notes in await asyncio.gather(*slots):
        print("\n".join(notes))

    # Two run to the end as well, racing for each position up to the last event.
    processes.relay("relay-a-last")
    processes.relay("relay-b-last")
    await finish(event_store, js, processes, writer, ["relay-a-last", "relay-b-last"])


async def test_relay_rides_out_nats_server_restarts(
    event_store: EventStore,
    nc: NATS,
    nats_server: NatsServer,
    processes: Processes,
    fault_seed: int,
) -> None:
    rng = random.Random(fault_seed)
    js = nc.jetstream()
    # Slower than the other tests' writer, so that both restarts fall while it writes.
    writer = processes.writer(EVENTS, fault_seed, max_pause=0.04)
    processes.relay("relay")
    await until(resumed(processes, "relay"), "the relay runs", processes)

    # A clean shutdown first, then a crash that may lose the stream's last
    # writes: either way the relay must reconnect and go on from the stream's
    # own last message, without being restarted itself.
    for restart, at in ((nats_server.stop, EVENTS // 5), (nats_server.kill, EVENTS // 2)):
        await until(stored_at_least(event_store, at), f"{at} events are stored", processes)
        restart()
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        nats_server.start()
        # Only once the relay is back does the next restart hurt it again.
        await until_async(published_at_least(js, at), f"{at} events are published", processes)
        print(
            f"nats-server restarted by {restart.__name__} after {at} events stored; "
            f"relay back with {event_store.max_notification_id()} stored"
        )

    await finish(event_store, js, processes, writer, ["relay"])


async def kill_repeatedly(
    processes: Processes,
    name: str,
    rng: random.Random,
    writer: subprocess.Popen[bytes],
    js: JetStreamContext,
    store: EventStore,
    min_kills: int,
) -> list[str]:
    """Start a relay, kill -9 it at a random moment, again, until the writer is done."""
    notes: list[str] = []
    while writer.poll() is None or len(notes) < min_kills:
        relay = processes.relay(f"{name}-{len(notes) + 1}")
        if rng.random() < 0.5:
            # While it publishes a backlog: the likeliest moment to leave a batch half done.
            moment = "while publishing"
            await stream_grows(js, timeout=5.0)
            await asyncio.sleep(rng.uniform(0, 0.05))
        else:
            # Anywhere: starting up, reading the stream, idle, or publishing.
            moment = "at any moment"
            await asyncio.sleep(rng.uniform(0.05, 1.5))
        assert relay.poll() is None, f"the relay exited by itself\n{processes.logs()}"
        Processes.kill(relay)
        behind = store.max_notification_id() - (await stream_position(js)).notification_id
        notes.append(f"{name} killed {moment}, the stream {behind} events behind the store")
        await asyncio.sleep(rng.uniform(0, 0.3))
    return notes


async def finish(
    store: EventStore,
    js: JetStreamContext,
    processes: Processes,
    writer: subprocess.Popen[bytes],
    relays: list[str],
) -> None:
    """Let the relays started as ``relays`` catch up once the writer is done; stop
    them; compare the stream with the store."""
    running = processes.running(relays)
    for name in relays:
        await until(resumed(processes, name), f"{name} runs", processes)
    assert await asyncio.to_thread(writer.wait, PATIENCE) == 0, processes.logs()
    stored_max = store.max_notification_id()

    await until_async(
        published_at_least(js, stored_max), "the relays caught up with the store", processes
    )
    assert {name: p.poll() for name, p in running.items()} == dict.fromkeys(relays), (
        processes.logs()
    )
    processes.stop_all()
    assert {name: p.returncode for name, p in running.items()} == dict.fromkeys(relays, 0), (
        processes.logs()
    )

    stored = read_store(store.app_recorder)
    assert len(stored) == EVENTS
    streamed = await read_stream(js)
    assert discrepancies(stored, streamed) == []


async def stream_grows(js: JetStreamContext, timeout: float) -> None:
    """Until any relay publishes something new (or the timeout passes: it may have nothing)."""
    start = (await js.stream_info(EVENTS_STREAM)).state.last_seq
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await js.stream_info(EVENTS_STREAM)).state.last_seq > start:
            return
        await asyncio.sleep(0.01)


def resumed(processes: Processes, relay: str) -> Callable[[], bool]:
    return lambda: processes.said(relay, RESUMED)


def published_at_least(js: JetStreamContext, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            return (await stream_position(js)).notification_id >= count
        except (NatsError, APIError):  # NATS may still be coming back
            return False

    return check


def stored_at_least(store: EventStore, count: int) -> Callable[[], bool]:
    return lambda: store.max_notification_id() >= count


async def until(condition: Callable[[], bool], what: str, processes: Processes) -> None:
    async def check() -> bool:
        return condition()

    await until_async(check, what, processes)


async def until_async(
    condition: Callable[[], Awaitable[bool]], what: str, processes: Processes
) -> None:
    deadline = time.monotonic() + PATIENCE
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}\n{processes.logs()}"
        await asyncio.sleep(0.05)
