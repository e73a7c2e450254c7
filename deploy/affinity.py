"""The cores of the backbone's processes: the projection process gets one to itself.

Every decided event passes through three processes: the manager (its save, then the
relay's publish), nats-server (storing it, then delivering it) and the projection
process (receiving it and writing the read models). The projection process does the
most per event, and as a CPython process it runs Python on one thread at a time, so
one core is all it can use: when anything else takes turns on that core, the read
models fall behind, and on a small machine finish a burst of events alone, long
after the manager has stored the last one. Spreading a Python process's threads over
several cores gains it nothing either, and costs: each time the interpreter passes
from one thread to another on a different core, what both touch (reference counts,
type objects, the allocator's pools) moves between the cores' caches, and a thread is
woken on the other core.

So on a machine with at least two usable cores the embedded stack starts the
projection process on the second of them, the manager on the first, and nats-server
(whose goroutines do run in parallel) on every core but the projection's; every
thread these start stays where its process is. The gateway, the agent, Podman and the
sessions' containers are scheduled freely over all cores. ``BERTH_PIN_CORES=off``
leaves everything to the kernel. ``docs/benchmarks.md`` has the figures.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass

#: ``auto`` (the default: pin on a machine with two cores or more) or ``off``
PIN_CORES_VARIABLE = "BERTH_PIN_CORES"
PIN_CORES_SETTINGS = ("auto", "off")


@dataclass(frozen=True)
class CorePlan:
    """The cores each process runs on; empty: wherever the kernel puts it."""

    manager: frozenset[int] = frozenset()
    projections: frozenset[int] = frozenset()
    nats: frozenset[int] = frozenset()

    def describe(self) -> str:
        if not self.projections:
            return "no process pinned"

        def cores(of: frozenset[int]) -> str:
            return ", ".join(map(str, sorted(of)))

        return (
            f"projections on core {cores(self.projections)}, manager on core"
            f" {cores(self.manager)}, nats-server on core {cores(self.nats)}"
        )


def usable_cores() -> list[int]:
    """The cores this thread may run on, in order."""
    return sorted(os.sched_getaffinity(0))


def pin_cores_setting() -> str:
    setting = (os.environ.get(PIN_CORES_VARIABLE) or "auto").strip().lower()
    if setting not in PIN_CORES_SETTINGS:
        raise ValueError(
            f"{PIN_CORES_VARIABLE} must be one of {', '.join(PIN_CORES_SETTINGS)}, not {setting!r}"
        )
    return setting


def core_plan(cores: Sequence[int], setting: str = "auto") -> CorePlan:
    """Where the backbone's processes run, given the cores the stack may use."""
    if setting not in PIN_CORES_SETTINGS:
        raise ValueError(f"unknown core pinning setting {setting!r}")
    if setting == "off" or len(cores) < 2:
        return CorePlan()
    manager, projections = cores[0], cores[1]
    return CorePlan(
        manager=frozenset([manager]),
        projections=frozenset([projections]),
        nats=frozenset(core for core in cores if core != projections),
    )


def plan_from_env() -> CorePlan:
    """:func:`core_plan` for the cores this process may use and ``BERTH_PIN_CORES``."""
    return core_plan(usable_cores(), pin_cores_setting())


def pin_process(cores: Collection[int], pid: int | None = None) -> None:
    """Keep every thread of a process (this one by default), and each thread it starts
    later, on ``cores``.

    Linux sets affinity per thread, and a new thread takes its creator's: each thread
    running now is moved. In a child between fork and exec (its only thread) this pins
    the program it becomes.
    """
    allowed = set(cores)
    try:
        threads = [int(task) for task in os.listdir(f"/proc/{pid or 'self'}/task")]
    except FileNotFoundError:  # no /proc: the calling thread, or the process's first
        threads = [pid or 0]
    for thread in threads:
        try:
            os.sched_setaffinity(thread, allowed)
        except ProcessLookupError:
            continue  # the thread ended meanwhile
