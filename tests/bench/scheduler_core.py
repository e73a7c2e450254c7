"""Micro-benchmark of the pure scheduling core: agent selection and queue ordering.

Places 10,000 sessions onto 1,000 agents with each selector (``place`` then ``allocate``, the
calls the scheduler makes per session) and prints placements per second, and how fast sessions
are refused once the group is full. Information only: no
storage, no messaging; the end-to-end scheduler benchmark measures those.

    python -m tests.bench.scheduler_core
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from services.manager.scheduler.agent_selection import AgentPool, AgentSelector
from services.manager.scheduler.model import AgentCapacity, OwnerUsage, PendingSession
from services.manager.scheduler.queue_order import QueueOrder, order_queue
from services.manager.scheduler.slots import ResourceSlots

AGENTS = 1_000
SESSIONS = 10_000
AGENT_SLOTS = ResourceSlots.parse({"cpu": 16, "mem": "64g"})


def make_pool(gpus: bool = False) -> AgentPool:
    capacity = AGENT_SLOTS
    if gpus:
        capacity = capacity + ResourceSlots.parse({"cuda.device": 8})
    return AgentPool(
        AgentCapacity(UUID(int=n), capacity, ResourceSlots(), images=frozenset({"python"}))
        for n in range(AGENTS)
    )


def uniform_requests() -> list[tuple[ResourceSlots, ...]]:
    kernel = ResourceSlots.parse({"cpu": 1, "mem": "2g"})
    return [(kernel,)] * SESSIONS


def mixed_requests() -> list[tuple[ResourceSlots, ...]]:
    rng = random.Random(7)
    shapes = [
        ResourceSlots.parse({"cpu": cpu, "mem": mem})
        for cpu in ("500m", 1, 2)
        for mem in ("1g", "2g", "4g")
    ]
    return [(rng.choice(shapes),) for _ in range(SESSIONS)]


def overflowing_requests() -> list[tuple[ResourceSlots, ...]]:
    # 8 fit per agent: the last 2,000 sessions find the group full and are refused.
    kernel = ResourceSlots.parse({"cpu": 2, "mem": "8g"})
    return [(kernel,)] * SESSIONS


def cluster_requests() -> list[tuple[ResourceSlots, ...]]:
    kernel = ResourceSlots.parse({"cpu": 1, "mem": "2g", "cuda.device": 1})
    return [(kernel,) * 4] * (SESSIONS // 5)


def place_all(
    pool: AgentPool, requests: list[tuple[ResourceSlots, ...]], selector: AgentSelector
) -> tuple[int, float, int, float]:
    """Placed count and seconds spent placing; refused count and seconds spent refusing."""
    placed = refused = 0
    placing = refusing = 0.0
    for kernels in requests:
        started = time.perf_counter()
        placement = pool.place(kernels, selector=selector, architecture="x86_64", image="python")
        if placement is not None:
            pool.allocate(placement)
            placed += 1
            placing += time.perf_counter() - started
        else:
            refused += 1
            refusing += time.perf_counter() - started
    return placed, placing, refused, refusing


def bench_selection(
    name: str, requests: Callable[[], list[tuple[ResourceSlots, ...]]], gpus: bool = False
) -> None:
    batch = requests()
    for selector in AgentSelector:
        placed, placing, refused, refusing = place_all(make_pool(gpus), batch, selector)
        line = (
            f"  {name:<30} {selector.value:<13} {placed:>6} placed "
            f"{placed / placing:>9,.0f} placements/s"
        )
        if refused:
            line += f", {refused} refused {refused / refusing:>9,.0f}/s"
        print(line)


def bench_ordering() -> None:
    enqueued = datetime(2026, 1, 1, tzinfo=UTC)
    kernel = ResourceSlots.parse({"cpu": 1, "mem": "2g"})
    rng = random.Random(3)
    pending = [
        PendingSession(
            session_id=UUID(int=n),
            kernels=(kernel,),
            image="python",
            access_key=f"AK{n % 100}",
            user_id=f"user-{n % 100}",
            project="default",
            domain="default",
            priority=rng.randrange(5),
            arrival=n,
            enqueued_at=enqueued,
        )
        for n in range(SESSIONS)
    ]
    usage = {f"user-{u}": OwnerUsage(allocated=kernel.scaled(u)) for u in range(100)}
    total = AGENT_SLOTS.scaled(AGENTS)
    for order in QueueOrder:
        started = time.perf_counter()
        order_queue(order, pending, usage, total)
        elapsed = time.perf_counter() - started
        print(f"  {order.value:<9} {SESSIONS} pending sessions ordered in {elapsed * 1000:,.1f} ms")


def main() -> None:
    print(f"agent selection: {SESSIONS:,} sessions onto {AGENTS:,} agents (place + allocate)")
    bench_selection("1 kernel, cpu 1 mem 2g", uniform_requests)
    bench_selection("1 kernel, 9 mixed shapes", mixed_requests)
    bench_selection("1 kernel, group overflows", overflowing_requests)
    bench_selection("4-kernel clusters, 1 GPU each", cluster_requests, gpus=True)
    print("queue order:")
    bench_ordering()


if __name__ == "__main__":
    main()
