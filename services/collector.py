"""The cyclic garbage collector's settings for Berth's long-running services.

A service builds most of what it keeps at start (imports, the app and its
schemas, the state replayed from the store). :func:`settle` collects once and
freezes those survivors, so the collector never scans them again, then raises
the thresholds: requests and events allocate hundreds of objects each, almost
all freed by reference counting, and CPython's default (a young collection every
700 allocations, a full one every 100 young ones) spends CPU and pauses every
thread for garbage that cycles do not make.

Measured: full collections had been 8 % of the gateway's CPU; in the manager,
whose aggregates make its heap grow with the sessions it knows, each one paused
decisions for 50 to 130 ms at 8,000 sessions (the gateway benchmark's p99).
"""

from __future__ import annotations

import gc


def settle_for_batches() -> None:
    """The manager's and the projection process's setting: both keep state that grows
    (aggregates, read-store positions) and work in batches that allocate tens of
    thousands of short-lived objects. Full collections rare, young ones every 50,000
    allocations."""
    settle(young=50_000, middle=50, full=100)


def settle(young: int, middle: int, full: int) -> None:
    """Collect, freeze the survivors, and collect the young generation every ``young``
    allocations, the middle one every ``middle`` young ones, the full heap every
    ``full`` middle ones (CPython runs a full one only once the survivors since the
    last make up a quarter of the objects it scanned then)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, middle, full)
