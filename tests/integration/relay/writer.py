"""A separate process that stores events while the relay is being hurt.

``python -m tests.integration.relay.writer COUNT [--seed N] [--max-pause S]``
stores exactly COUNT events into the store configured by the ``BERTH_*``
environment (``BERTH_STORE``, ``BERTH_SQLITE_PATH``, ``BERTH_PG_DSN``): session
requests, some cancelled in the same save, in batches of 1 to 50 events with a
short random pause after each, so that the relay sees a steady trickle of saves
of every size rather than one burst.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import UTC, datetime

from services.manager.domain.session import Session
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.factories import requested_session

MAX_BATCH = 50


def batch_of_sessions(size: int, rng: random.Random, tag: str, first: int) -> list[Session]:
    """Sessions that together record exactly ``size`` events."""
    sessions: list[Session] = []
    recorded = 0
    while recorded < size:
        at = datetime.now(UTC)
        session = requested_session(
            name=f"fault-{first + len(sessions)}",
            access_key="relay-fault-test",
            image="busybox",
            session_type="batch",
            resources={"cpu": "1", "mem": "64m"},
            startup_command="true",
            request_id=f"{tag}-{first + len(sessions)}",
            at=at,
        )
        recorded += 1
        if recorded < size and rng.random() < 0.2:
            session.cancel("withdrawn by its owner", at)
            recorded += 1
        sessions.append(session)
    return sessions


def store_events(store: EventStore, count: int, rng: random.Random, max_pause: float) -> int:
    """Store ``count`` events; returns how many sessions they belong to."""
    tag = uuid.uuid4().hex  # unique, so a rerun against the same store adds to it
    stored = sessions = 0
    while stored < count:
        size = min(rng.randint(1, MAX_BATCH), count - stored)
        batch = batch_of_sessions(size, rng, tag, sessions)
        store.save(*batch)
        stored += size
        sessions += len(batch)
        time.sleep(rng.uniform(0, max_pause))
    return sessions


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.integration.relay.writer")
    parser.add_argument("count", type=int, help="how many events to store")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-pause", type=float, default=0.015, help="seconds, after each save")
    args = parser.parse_args()
    started = time.monotonic()
    with EventStore(StoreSettings.from_env()) as store:
        sessions = store_events(store, args.count, random.Random(args.seed), args.max_pause)
    elapsed = time.monotonic() - started
    print(f"stored {args.count} events of {sessions} sessions in {elapsed:.1f}s", flush=True)


if __name__ == "__main__":
    main()
