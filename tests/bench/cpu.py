"""Where the CPU time went during a measurement: per process, and the machine as a whole.

On a two-core machine the backbone's processes (the manager with its relay, the
projection process, nats-server, PostgreSQL) compete for the same cores, so the
benchmark reports who used how much of them while it ran.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process (all its threads) has used; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # the command name may hold spaces: the fields after its closing parenthesis count
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over all cores."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    total = sum(values[:8])  # without guest time, which is counted in user already
    return (total - idle) / TICKS, total / TICKS


@dataclass(frozen=True)
class CpuUse:
    wall_s: float
    #: CPU seconds per process name
    processes: dict[str, float]
    #: CPU seconds of the whole machine, every process included
    machine_busy_s: float
    cores: int

    @property
    def machine_busy_share(self) -> float:
        """How much of all cores was busy: 1.0 means every core all the time."""
        return self.machine_busy_s / (self.wall_s * self.cores) if self.wall_s else 0.0


class CpuMeter:
    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._start_wall = time.perf_counter()
        self._start = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
        self._start_busy = machine_busy_seconds()[0]

    def read(self) -> CpuUse:
        return CpuUse(
            wall_s=time.perf_counter() - self._start_wall,
            processes={
                name: process_cpu_seconds(pid) - self._start[name]
                for name, pid in self._pids.items()
            },
            machine_busy_s=machine_busy_seconds()[0] - self._start_busy,
            cores=os.cpu_count() or 1,
        )


async def quiet_machine(
    *, idle_below: float = 0.15, window_s: float = 0.2, give_up_after_s: float = 5.0
) -> None:
    """Before a measurement: write out what the page cache holds, then wait for the cores to rest.

    What one measurement leaves behind (dirty pages, a read store's checkpoint in
    its own thread) must not land in the next one's time. Waits until a window of
    ``window_s`` finds the machine busy less than ``idle_below`` of the time, and
    goes on anyway after ``give_up_after_s`` (on a machine that is never idle).
    """
    await asyncio.to_thread(os.sync)
    deadline = time.monotonic() + give_up_after_s
    while time.monotonic() < deadline:
        busy, total = machine_busy_seconds()
        await asyncio.sleep(window_s)
        busy_after, total_after = machine_busy_seconds()
        if total_after > total and (busy_after - busy) / (total_after - total) < idle_below:
            return
