from __future__ import annotations

from services.manager.scheduler.model import OwnerUsage, PendingSession
from services.manager.scheduler.queue_order import QueueOrder, order_queue
from tests.unit.scheduler.factories import session, slots

TOTAL = slots(cpu=100, mem="100g")


def numbers(ordered: list[PendingSession]) -> list[int]:
    return [s.session_id.int for s in ordered]


def test_fifo_serves_by_arrival_and_deprioritised_last() -> None:
    pending = [session(3), session(1), session(2, deprioritised=True), session(4)]
    assert numbers(order_queue(QueueOrder.FIFO, pending, {}, TOTAL)) == [1, 3, 4, 2]


def test_lifo_serves_newest_first_and_deprioritised_last() -> None:
    pending = [session(3), session(1), session(4, deprioritised=True), session(2)]
    assert numbers(order_queue(QueueOrder.LIFO, pending, {}, TOTAL)) == [3, 2, 1, 4]


def test_priority_bands_serve_higher_first_fifo_within_a_band() -> None:
    pending = [
        session(1, priority=0),
        session(2, priority=10),
        session(3, priority=10, deprioritised=True),
        session(4, priority=10),
        session(5, priority=5),
        session(6, priority=0, deprioritised=True),
        session(7, priority=0),
    ]
    # a deprioritised session of a high band still goes before lower bands
    assert numbers(order_queue(QueueOrder.PRIORITY, pending, {}, TOTAL)) == [2, 4, 3, 5, 1, 7, 6]


def test_ties_in_arrival_are_broken_by_session_id() -> None:
    pending = [session(9, arrival=1), session(5, arrival=1), session(7, arrival=0)]
    assert numbers(order_queue(QueueOrder.FIFO, pending, {}, TOTAL)) == [7, 5, 9]
    assert numbers(order_queue(QueueOrder.LIFO, pending, {}, TOTAL)) == [5, 9, 7]
    assert numbers(order_queue(QueueOrder.PRIORITY, pending, {}, TOTAL)) == [7, 5, 9]
    assert numbers(order_queue(QueueOrder.DRF, pending, {}, TOTAL)) == [7, 5, 9]


def test_drf_serves_the_user_with_the_smallest_dominant_share_first() -> None:
    usage = {
        "heavy": OwnerUsage(allocated=slots(cpu=50)),  # share 0.5
        "light": OwnerUsage(allocated=slots(mem="10g")),  # share 0.1
    }
    pending = [session(1, user="heavy"), session(2, user="light"), session(3, user="idle")]
    assert numbers(order_queue(QueueOrder.DRF, pending, usage, TOTAL)) == [3, 2, 1]


def test_drf_takes_turns_as_shares_grow() -> None:
    # alice holds nothing and has many sessions waiting; bob holds a little. Each session is
    # a tenth of the cluster's cpu, so after one placement alice has passed bob's share.
    big = (slots(cpu=10),)
    usage = {"bob": OwnerUsage(allocated=slots(cpu=5))}
    pending = [session(n, user="alice", kernels=big) for n in range(1, 5)]
    pending += [session(n, user="bob", kernels=big) for n in range(5, 8)]
    ordered = order_queue(QueueOrder.DRF, pending, usage, TOTAL)
    assert [s.user_id for s in ordered] == [
        "alice",  # 0 < 0.05
        "bob",  # 0.05 < 0.1
        "alice",  # 0.1 < 0.15
        "bob",
        "alice",
        "bob",
        "alice",
    ]
    # each user's own sessions stay in arrival order
    assert numbers([s for s in ordered if s.user_id == "alice"]) == [1, 2, 3, 4]


def test_drf_ties_go_by_arrival_and_deprioritised_come_last() -> None:
    pending = [
        session(1, user="a", deprioritised=True),
        session(2, user="b"),
        session(3, user="c"),
    ]
    assert numbers(order_queue(QueueOrder.DRF, pending, {}, TOTAL)) == [2, 3, 1]


def test_drf_ignores_slots_the_group_does_not_have() -> None:
    usage = {"gpu-user": OwnerUsage(allocated=slots(cuda_device=8))}
    pending = [session(1, user="gpu-user"), session(2, user="other", arrival=5)]
    assert numbers(order_queue(QueueOrder.DRF, pending, usage, TOTAL)) == [1, 2]


def test_orders_do_not_lose_or_duplicate_sessions() -> None:
    pending = [
        session(n, user=f"u{n % 3}", priority=n % 4, deprioritised=n % 5 == 0) for n in range(1, 40)
    ]
    for order in QueueOrder:
        ordered = order_queue(order, pending, {}, TOTAL)
        assert sorted(numbers(ordered)) == list(range(1, 40))
