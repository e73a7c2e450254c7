"""Which host CPUs each kernel is pinned to (cpuset), next to its CPU quota.

A kernel asking for ``cpu: 1.5`` gets a CFS quota of 1.5 CPUs and a cpuset of two
cores; cores go to the kernels with the fewest kernels on them already, so pinned
kernels spread over the node. Pure bookkeeping; restored from containers after a
restart.
"""

from __future__ import annotations

import math
import threading
from decimal import Decimal
from uuid import UUID


class CpuSets:
    def __init__(self, cores: list[int]) -> None:
        if not cores:
            raise ValueError("a node needs at least one CPU core")
        self._cores = sorted(cores)
        self._load = dict.fromkeys(self._cores, 0)
        self._held: dict[UUID, list[int]] = {}
        self._lock = threading.Lock()

    @property
    def cores(self) -> list[int]:
        return list(self._cores)

    def allocate(self, kernel_id: UUID, cpu: Decimal) -> list[int]:
        with self._lock:
            if kernel_id in self._held:
                return list(self._held[kernel_id])
            want = min(max(1, math.ceil(cpu)), len(self._cores))
            chosen = sorted(sorted(self._cores, key=lambda c: (self._load[c], c))[:want])
            self._take(kernel_id, chosen)
            return list(chosen)

    def restore(self, kernel_id: UUID, cores: list[int]) -> None:
        with self._lock:
            if kernel_id not in self._held:
                self._take(kernel_id, [c for c in cores if c in self._load])

    def release(self, kernel_id: UUID) -> None:
        with self._lock:
            for core in self._held.pop(kernel_id, []):
                self._load[core] -= 1

    def _take(self, kernel_id: UUID, cores: list[int]) -> None:
        self._held[kernel_id] = cores
        for core in cores:
            self._load[core] += 1


def format_cpuset(cores: list[int]) -> str:
    return ",".join(str(c) for c in cores)


def parse_cpuset(text: str) -> list[int]:
    """``"0-2,5"`` → ``[0, 1, 2, 5]``."""
    cores: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        cores.extend(range(int(first), int(last or first) + 1))
    return cores
