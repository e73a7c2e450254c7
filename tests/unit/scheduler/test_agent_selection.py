from __future__ import annotations

from uuid import UUID

import pytest

from services.manager.scheduler.agent_selection import (
    AgentNotInPool,
    AgentPool,
    AgentSelector,
    WouldOverCommit,
)
from services.manager.scheduler.model import KernelPlacement
from services.manager.scheduler.slots import ResourceSlots
from tests.unit.scheduler.factories import agent, session, slots

EIGHT = slots(cpu=8, mem="32g")
ONE = slots(cpu=1, mem="1g")
A, B, C = UUID(int=1), UUID(int=2), UUID(int=3)


def three_agents() -> AgentPool:
    """A is nearly full, B is a quarter used, C is empty."""
    return AgentPool(
        [
            agent(1, EIGHT, allocated=slots(cpu=6, mem="8g")),
            agent(2, EIGHT, allocated=slots(cpu=2, mem="8g")),
            agent(3, EIGHT),
        ]
    )


def place_one(
    pool: AgentPool, kernel: ResourceSlots, selector: AgentSelector, **options: object
) -> UUID | None:
    placed = pool.place([kernel], selector=selector, architecture="x86_64", **options)  # type: ignore[arg-type]
    return None if placed is None else placed[0].agent_id


def place_and_allocate(pool: AgentPool, kernel: ResourceSlots, selector: AgentSelector) -> UUID:
    placed = pool.place([kernel], selector=selector, architecture="x86_64")
    assert placed is not None
    pool.allocate(placed)
    return placed[0].agent_id


def test_concentrated_picks_the_fullest_agent_that_fits() -> None:
    pool = three_agents()
    assert place_one(pool, ONE, AgentSelector.CONCENTRATED) == A
    # A has only 2 cores left
    assert place_one(pool, slots(cpu=3, mem="1g"), AgentSelector.CONCENTRATED) == B


def test_concentrated_piles_sessions_onto_one_agent_until_it_is_full() -> None:
    pool = AgentPool([agent(n, EIGHT) for n in (1, 2, 3)])
    chosen = [place_and_allocate(pool, ONE, AgentSelector.CONCENTRATED) for _ in range(10)]
    assert chosen == [A] * 8 + [B] * 2


def test_dispersed_picks_the_emptiest_agent() -> None:
    pool = three_agents()
    assert place_one(pool, ONE, AgentSelector.DISPERSED) == C
    spread = AgentPool([agent(n, EIGHT) for n in (1, 2, 3)])
    chosen = [place_and_allocate(spread, ONE, AgentSelector.DISPERSED) for _ in range(6)]
    assert chosen == [A, B, C, A, B, C]


def test_room_is_the_scarcest_requested_resource() -> None:
    # A has plenty of cpu but little memory left; B the opposite. For a cpu+mem request the
    # scarcest resource counts: A has 1/32 of its memory, B 1/8 of its cpu.
    pool = AgentPool(
        [
            agent(1, EIGHT, allocated=slots(mem="31g")),
            agent(2, EIGHT, allocated=slots(cpu=7)),
        ]
    )
    assert place_one(pool, ONE, AgentSelector.CONCENTRATED) == A
    assert place_one(pool, ONE, AgentSelector.DISPERSED) == B
    # a cpu-only request only looks at cpu
    assert place_one(pool, slots(cpu=1), AgentSelector.CONCENTRATED) == B


def test_round_robin_takes_agents_in_turn_and_skips_those_without_room() -> None:
    pool = three_agents()
    big = slots(cpu=4, mem="1g")  # does not fit on A
    chosen = [place_and_allocate(pool, ONE, AgentSelector.ROUNDROBIN) for _ in range(4)]
    assert chosen == [A, B, C, A]
    assert place_and_allocate(pool, big, AgentSelector.ROUNDROBIN) == B


def test_equal_room_prefers_an_agent_that_has_the_image() -> None:
    pool = AgentPool(
        [agent(1, EIGHT), agent(2, EIGHT), agent(3, EIGHT, images=frozenset({"python"}))]
    )
    for selector in (AgentSelector.CONCENTRATED, AgentSelector.DISPERSED):
        assert place_one(pool, ONE, selector, image="python") == C
        assert place_one(pool, ONE, selector, image="other") == A


def test_room_outweighs_the_image() -> None:
    pool = AgentPool(
        [
            agent(1, EIGHT, allocated=slots(cpu=4, mem="16g")),
            agent(2, EIGHT, images=frozenset({"python"})),
        ]
    )
    assert place_one(pool, ONE, AgentSelector.CONCENTRATED, image="python") == A


def test_image_inventory_follows_capacity_updates() -> None:
    pool = AgentPool([agent(1, EIGHT), agent(2, EIGHT)])
    pool.update_capacity(B, EIGHT, frozenset({"python"}))
    assert place_one(pool, ONE, AgentSelector.CONCENTRATED, image="python") == B
    assert pool.images() == {"python"}
    pool.update_capacity(B, EIGHT, frozenset())
    assert place_one(pool, ONE, AgentSelector.CONCENTRATED, image="python") == A
    assert pool.images() == frozenset()


def test_only_schedulable_agents_of_the_architecture_are_used() -> None:
    pool = AgentPool([agent(1, EIGHT, architecture="aarch64"), agent(2, EIGHT), agent(3, EIGHT)])
    pool.set_schedulable(B, False)
    for selector in AgentSelector:
        assert place_one(pool, ONE, selector) == C
        placed = pool.place([ONE], selector=selector, architecture="aarch64")
        assert placed is not None and placed[0].agent_id == A
    pool.set_schedulable(C, False)
    assert all(place_one(pool, ONE, selector) is None for selector in AgentSelector)
    pool.set_schedulable(B, True)
    assert all(place_one(pool, ONE, selector) == B for selector in AgentSelector)


def test_designated_agent_is_the_only_candidate() -> None:
    pool = three_agents()
    for selector in AgentSelector:
        assert place_one(pool, ONE, selector, designated_agent=C) == C
        # A cannot take 3 cores; the emptier agents are not considered
        assert place_one(pool, slots(cpu=3), selector, designated_agent=A) is None
        assert place_one(pool, ONE, selector, designated_agent=UUID(int=99)) is None
    pool.set_schedulable(C, False)
    assert place_one(pool, ONE, AgentSelector.DISPERSED, designated_agent=C) is None


def test_cluster_kernels_share_an_agent_only_when_it_has_room_for_both() -> None:
    pool = three_agents()
    two = [slots(cpu=1, mem="1g")] * 2
    placed = pool.place(two, selector=AgentSelector.CONCENTRATED, architecture="x86_64")
    assert placed is not None
    assert [(k.kernel_index, k.agent_id) for k in placed] == [(0, A), (1, A)]
    three = [slots(cpu=1, mem="1g")] * 3  # A has room for two of them
    placed = pool.place(three, selector=AgentSelector.CONCENTRATED, architecture="x86_64")
    assert placed is not None and [k.agent_id for k in placed] == [A, A, B]
    placed = pool.place(three, selector=AgentSelector.DISPERSED, architecture="x86_64")
    assert placed is not None and [k.agent_id for k in placed] == [C, C, B]


def test_cluster_is_placed_all_or_nothing() -> None:
    pool = AgentPool([agent(n, slots(cpu=8, mem="32g", cuda_device=1)) for n in (1, 2)])
    kernel = slots(cpu=1, mem="1g", cuda_device=1)
    before = [pool.agent(a).allocated for a in (A, B)]
    for selector in AgentSelector:
        assert pool.place([kernel] * 3, selector=selector, architecture="x86_64") is None
    assert [pool.agent(a).allocated for a in (A, B)] == before
    placed = pool.place([kernel] * 2, selector=AgentSelector.ROUNDROBIN, architecture="x86_64")
    assert placed is not None and {k.agent_id for k in placed} == {A, B}


def test_cluster_is_found_when_the_greedy_order_fails() -> None:
    # B joined first, so the greedy concentrated choice for the small kernel is B; the big
    # kernel then fits nowhere. Placing the big kernel on B and the small ones on A works.
    pool = AgentPool([agent(2, slots(cpu=2, mem="8g")), agent(1, slots(cpu=2, mem="2g"))])
    small, big = slots(cpu=1, mem="1g"), slots(cpu=2, mem="6g")
    for selector in AgentSelector:
        placed = pool.place([small, big, small], selector=selector, architecture="x86_64")
        assert placed is not None, selector
        assert [k.agent_id for k in placed] == [A, B, A]
        assert [k.slots for k in placed] == [small, big, small]


def test_can_ever_fit_tells_waiting_from_impossible() -> None:
    gpu_agent = slots(cpu=8, mem="32g", cuda_device=2)
    pool = AgentPool(
        [
            agent(1, gpu_agent, allocated=gpu_agent),
            agent(2, EIGHT, allocated=EIGHT, schedulable=False),
            agent(3, EIGHT, architecture="aarch64"),
        ]
    )
    gpu = slots(cpu=1, mem="1g", cuda_device=1)
    assert pool.place([gpu], selector=AgentSelector.DISPERSED, architecture="x86_64") is None
    assert pool.can_ever_fit([gpu], "x86_64")  # wait: the GPU agent is busy
    assert pool.can_ever_fit([gpu, gpu], "x86_64")
    assert not pool.can_ever_fit([gpu] * 3, "x86_64")  # only two GPUs in the group
    assert not pool.can_ever_fit([gpu], "aarch64")
    assert pool.can_ever_fit([slots(cpu=8)] * 2, "x86_64")  # counts the drained agent
    assert not pool.can_ever_fit([slots(cpu=9)], "x86_64")
    assert pool.can_ever_fit([slots(cpu=4)] * 2, "x86_64", designated_agent=B)
    assert not pool.can_ever_fit([slots(cpu=5)] * 2, "x86_64", designated_agent=B)
    assert not pool.can_ever_fit([ONE], "x86_64", designated_agent=UUID(int=99))
    pool.update_capacity(B, slots(cpu=16, mem="32g"))
    assert pool.can_ever_fit([slots(cpu=9)], "x86_64")


def test_allocate_refuses_an_over_commit_and_changes_nothing() -> None:
    pool = three_agents()
    fits = KernelPlacement(0, C, slots(cpu=4))
    too_much = KernelPlacement(1, A, slots(cpu=3))
    with pytest.raises(WouldOverCommit):
        pool.allocate([fits, too_much])
    assert pool.agent(C).allocated == ResourceSlots()
    # two kernels that fit one by one but not together
    with pytest.raises(WouldOverCommit):
        pool.allocate([KernelPlacement(0, A, slots(cpu=2)), KernelPlacement(1, A, slots(cpu=1))])
    with pytest.raises(AgentNotInPool):
        pool.allocate([KernelPlacement(0, UUID(int=99), ONE)])
    pool.allocate([fits])
    assert pool.agent(C).allocated == slots(cpu=4)


def test_release_gives_capacity_back() -> None:
    pool = three_agents()
    assert place_one(pool, slots(cpu=3, mem="1g"), AgentSelector.CONCENTRATED) == B
    assert pool.release(A, slots(cpu=6, mem="8g"))
    assert pool.agent(A).allocated == ResourceSlots()
    assert place_one(pool, slots(cpu=3, mem="1g"), AgentSelector.CONCENTRATED) == B
    assert place_one(pool, slots(cpu=8, mem="32g"), AgentSelector.CONCENTRATED) == A
    with pytest.raises(ValueError, match="cannot release"):
        pool.release(B, slots(cpu=3))


def test_a_removed_agent_takes_its_allocations_with_it() -> None:
    pool = three_agents()
    record = pool.remove_agent(A)
    assert record.allocated == slots(cpu=6, mem="8g")
    assert not pool.has_agent(A) and len(pool) == 2
    assert pool.release(A, slots(cpu=6)) is False
    assert all(place_one(pool, ONE, s) != A for s in AgentSelector)
    assert pool.total() == EIGHT.scaled(2)
    with pytest.raises(AgentNotInPool):
        pool.remove_agent(A)


def test_shrunk_capacity_takes_no_more_of_the_short_slot() -> None:
    pool = AgentPool([agent(1, slots(cpu=8, mem="8g", cuda_device=2))])
    pool.allocate(
        pool.place(
            [slots(cpu=1, cuda_device=2)], selector=AgentSelector.DISPERSED, architecture="x86_64"
        )
        or ()
    )
    pool.update_capacity(A, slots(cpu=8, mem="8g", cuda_device=1))  # a GPU failed
    assert pool.agent(A).allocated["cuda.device"] == 2
    for selector in AgentSelector:
        assert place_one(pool, slots(cuda_device=1), selector) is None
        assert place_one(pool, slots(cpu=1), selector) == A


def test_place_decides_without_changing_anything() -> None:
    pool = three_agents()
    before = [(a.agent_id, a.allocated) for a in pool]
    for selector in AgentSelector:
        pool.place([ONE] * 3, selector=selector, architecture="x86_64")
        pool.place([slots(cpu=100)], selector=selector, architecture="x86_64")
    assert [(a.agent_id, a.allocated) for a in pool] == before


def test_place_session_uses_the_sessions_own_constraints() -> None:
    pool = three_agents()
    pending = session(7, kernels=(ONE, ONE))
    placement = pool.place_session(pending, AgentSelector.DISPERSED)
    assert placement is not None and placement.session_id == pending.session_id
    assert [k.agent_id for k in placement.kernels] == [C, C]


def test_replaying_charges_restores_the_round_robin_turn() -> None:
    pool = AgentPool([agent(n, EIGHT) for n in (1, 2, 3)])
    pool.charge(B, ONE)
    assert place_one(pool, ONE, AgentSelector.ROUNDROBIN) == C
    # history is loaded as recorded, even past what is free now
    pool.charge(C, slots(cpu=9))
    assert pool.agent(C).allocated["cpu"] == 9
    assert place_one(pool, ONE, AgentSelector.ROUNDROBIN) == A


def test_negative_requests_are_refused() -> None:
    pool = three_agents()
    with pytest.raises(ValueError, match="negative"):
        pool.place(
            [slots(cpu=1) - slots(cpu=2)], selector=AgentSelector.DISPERSED, architecture="x86_64"
        )
