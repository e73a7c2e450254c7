"""Facts waiting for their time. Pure: the caller passes the clock's readings in."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from services.agent.simulated.kernels import Due


@dataclass
class Timeline:
    _heap: list[tuple[float, int, Due]] = field(default_factory=list)
    # Ties keep the order of planning, so a kernel's facts with equal times
    # (start_delay 0) still come out created, started, exited.
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def plan(self, now: float, dues: list[Due]) -> None:
        for due in dues:
            heapq.heappush(self._heap, (now + due.after, next(self._order), due))

    def pop_due(self, now: float) -> list[Due]:
        ready = []
        while self._heap and self._heap[0][0] <= now:
            ready.append(heapq.heappop(self._heap)[2])
        return ready

    def next_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)
