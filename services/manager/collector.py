"""The cyclic garbage collector's settings for the manager process.

The manager keeps its aggregates in memory, so its heap grows with the sessions
and agents it knows. With CPython's default thresholds (700, 10, 10) a full
collection, which scans every tracked object while every thread waits, ran every
second or two under load, and each paused decisions for 50 to 130 ms at 8,000
sessions (measured with the gateway benchmark: those pauses were its p99).

Aggregates and events are freed by reference counting; they form no cycles the
collector is needed for. So the manager freezes what it built at start (the
imports and the state replayed from the store: never scanned again) and collects
the young generation every 50,000 allocations instead of 700, which makes full
collections rare: one is due after 100 middle collections of 50 young ones each,
and CPython runs it only once the survivors since the last full one make up a
quarter of the objects it scanned then.
"""

from __future__ import annotations

import gc

#: allocations (net of deallocations) between young-generation collections
YOUNG = 50_000
#: young collections per middle one, middle ones per full one
MIDDLE, FULL = 50, 100


def settle() -> None:
    """Collect once, freeze the survivors, and raise the thresholds (call once state is loaded)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, FULL)
