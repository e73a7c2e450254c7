"""Relays (and managers) that start at the same moment all get going.

Each process opens the event store as it starts, creating the store's tables
and functions if they are missing. On PostgreSQL, several doing that at the same
moment used to fail with "tuple concurrently updated", so that of two relays
started together one could die at once.
"""

from __future__ import annotations

import threading

from services.manager.settings import StoreSettings
from services.manager.store import EventStore

STARTING_TOGETHER = 6


def test_stores_opened_at_the_same_moment_all_open(store_settings: StoreSettings) -> None:
    EventStore(store_settings).close()  # the tables exist, as when a relay restarts
    together = threading.Barrier(STARTING_TOGETHER)
    failures: list[Exception] = []

    def start() -> None:
        together.wait()
        try:
            EventStore(store_settings).close()
        except Exception as exc:  # what would have ended the process
            failures.append(exc)

    threads = [threading.Thread(target=start) for _ in range(STARTING_TOGETHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [str(exc) for exc in failures] == []
