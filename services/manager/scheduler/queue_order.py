"""Queue orders: in which order a resource group's pending sessions are offered capacity.

Every order is deterministic: ties are broken by arrival, then by session id. A session that has
been deprioritised (too many failed attempts) goes behind the others: behind everything for
FIFO, LIFO and DRF, behind the rest of its band for priority.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from services.manager.scheduler.model import OwnerUsage, PendingSession
from services.manager.scheduler.slots import ResourceSlots


class QueueOrder(StrEnum):
    FIFO = "fifo"
    LIFO = "lifo"
    DRF = "drf"
    PRIORITY = "priority"


def order_queue(
    order: QueueOrder,
    pending: Sequence[PendingSession],
    usage_by_user: Mapping[str, OwnerUsage],
    total_capacity: ResourceSlots,
) -> list[PendingSession]:
    """The pending sessions in the order the scheduler should try them."""
    if order is QueueOrder.FIFO:
        return sorted(pending, key=lambda s: (s.deprioritised, s.arrival, s.session_id))
    if order is QueueOrder.LIFO:
        return sorted(pending, key=lambda s: (s.deprioritised, -s.arrival, s.session_id))
    if order is QueueOrder.PRIORITY:
        return sorted(
            pending, key=lambda s: (-s.priority, s.deprioritised, s.arrival, s.session_id)
        )
    if order is QueueOrder.DRF:
        return _drf_order(pending, usage_by_user, total_capacity)
    raise ValueError(f"unknown queue order {order!r}")


def _drf_order(
    pending: Sequence[PendingSession],
    usage_by_user: Mapping[str, OwnerUsage],
    total_capacity: ResourceSlots,
) -> list[PendingSession]:
    """Dominant resource fairness: the user with the smallest dominant share goes next.

    The order is progressive, as if every session ahead were placed: after a user's session is
    taken, that user's share grows by the session's resources before the next pick. A user with
    many pending sessions and nothing allocated therefore takes turns with the others instead of
    jumping ahead with all of them, which is what DRF promises when the scheduler re-evaluates
    shares after every placement. Each user's own sessions stay in arrival order.
    """
    totals = {name: amount for name, amount in total_capacity.items() if amount > 0}

    memo: dict[ResourceSlots, dict[str, Decimal]] = {}

    def shares_of(slots: ResourceSlots) -> dict[str, Decimal]:
        # Queues hold many sessions of few shapes: divide once per shape.
        shares = memo.get(slots)
        if shares is None:
            shares = {
                name: amount / totals[name] for name, amount in slots.items() if name in totals
            }
            memo[slots] = shares
        return shares

    # Per user: the share of each slot they hold (starting from what is allocated now).
    held: dict[str, dict[str, Decimal]] = {}
    ordered: list[PendingSession] = []
    for deprioritised in (False, True):
        queues: dict[str, deque[PendingSession]] = {}
        for session in sorted(pending, key=lambda s: (s.arrival, s.session_id)):
            if session.deprioritised is deprioritised:
                queues.setdefault(session.user_id, deque()).append(session)
        heap: list[tuple[Decimal, int, UUID, str]] = []
        for user, queue in queues.items():
            if user not in held:
                usage = usage_by_user.get(user)
                held[user] = shares_of(usage.allocated) if usage is not None else {}
            share = max(held[user].values(), default=Decimal(0))
            head = queue[0]
            heap.append((share, head.arrival, head.session_id, user))
        heapq.heapify(heap)
        while heap:
            _, _, _, user = heapq.heappop(heap)
            queue = queues[user]
            session = queue.popleft()
            ordered.append(session)
            user_held = held[user]
            for name, share in shares_of(session.total).items():
                user_held[name] = user_held.get(name, Decimal(0)) + share
            if queue:
                head = queue[0]
                share = max(user_held.values(), default=Decimal(0))
                heapq.heappush(heap, (share, head.arrival, head.session_id, user))
    return ordered
