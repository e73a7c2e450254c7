"""Properties of the agent pool under random sequences of decisions and agent changes."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from services.manager.scheduler.agent_selection import AgentPool, AgentSelector
from services.manager.scheduler.model import AgentCapacity, KernelPlacement
from services.manager.scheduler.slots import ResourceSlots
from tests.unit.scheduler.factories import agent, slots

ARCHITECTURES = ("x86_64", "aarch64")
GiB = 1024**3


@st.composite
def capacities(draw: st.DrawFn) -> ResourceSlots:
    return slots(
        cpu=draw(st.integers(0, 12)),
        mem=draw(st.integers(0, 12)) * GiB,
        cuda_device=draw(st.sampled_from([0, 1, 2, 4])),
    )


@st.composite
def kernels(draw: st.DrawFn) -> ResourceSlots:
    return slots(
        cpu=draw(st.sampled_from(["0", "500m", "1", "2", "3"])),
        mem=draw(st.integers(0, 4)) * GiB,
        cuda_device=draw(st.sampled_from([0, 0, 0, 1, 2])),
    )


cluster_kernels = st.lists(kernels(), min_size=1, max_size=3)


def eligible(
    pool: AgentPool, architecture: str, designated: UUID | None, *, schedulable_only: bool = True
) -> list[AgentCapacity]:
    return [
        a
        for a in pool
        if a.architecture == architecture
        and (a.schedulable or not schedulable_only)
        and (designated is None or a.agent_id == designated)
    ]


def fits_by_brute_force(
    agents: Sequence[AgentCapacity], request: Sequence[ResourceSlots], *, empty: bool = False
) -> bool:
    """Whether any assignment of kernels to agents fits, trying every one."""
    for assignment in itertools.product(agents, repeat=len(request)):
        used: dict[UUID, ResourceSlots] = {}
        for target, kernel in zip(assignment, request, strict=True):
            used[target.agent_id] = used.get(target.agent_id, ResourceSlots()) + kernel
        if all(
            slots_used.fits_in(a.capacity if empty else a.capacity - a.allocated)
            for a in assignment
            for slots_used in [used[a.agent_id]]
        ):
            return True
    return False


def room(a: AgentCapacity, kernel: ResourceSlots) -> Fraction:
    """The documented room of an agent, in exact arithmetic."""
    if kernel.is_zero():
        return Fraction(1)
    available = a.capacity - a.allocated
    return min(
        Fraction(available[name]) / Fraction(a.capacity[name])
        if a.capacity[name] > 0
        else Fraction(0)
        for name in kernel.kinds
    )


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pool = AgentPool()
        self.numbers = itertools.count(1)
        #: what the test believes is allocated: (agent id, slots) per kernel
        self.held: list[tuple[UUID, ResourceSlots]] = []

    def agent_ids(self) -> list[UUID]:
        return [a.agent_id for a in self.pool]

    @precondition(lambda self: len(self.pool) < 6)
    @rule(
        capacity=capacities(),
        architecture=st.sampled_from(ARCHITECTURES),
        schedulable=st.booleans(),
        images=st.sets(st.sampled_from(["python", "torch"])),
    )
    def add_agent(
        self, capacity: ResourceSlots, architecture: str, schedulable: bool, images: set[str]
    ) -> None:
        self.pool.add_agent(
            agent(
                next(self.numbers),
                capacity,
                architecture=architecture,
                schedulable=schedulable,
                images=frozenset(images),
            )
        )

    @precondition(lambda self: len(self.pool) > 0)
    @rule(data=st.data())
    def remove_agent(self, data: st.DataObject) -> None:
        gone = data.draw(st.sampled_from(self.agent_ids()))
        record = self.pool.remove_agent(gone)
        assert record.allocated == ResourceSlots.sum(s for a, s in self.held if a == gone)
        self.held = [(a, s) for a, s in self.held if a != gone]

    @precondition(lambda self: len(self.pool) > 0)
    @rule(data=st.data(), schedulable=st.booleans())
    def set_schedulable(self, data: st.DataObject, schedulable: bool) -> None:
        self.pool.set_schedulable(data.draw(st.sampled_from(self.agent_ids())), schedulable)

    @precondition(lambda self: len(self.pool) > 0)
    @rule(data=st.data(), extra=capacities())
    def grow_or_shrink_to_allocated(self, data: st.DataObject, extra: ResourceSlots) -> None:
        # Capacity never drops below what is allocated here; dropping below is a separate case.
        target = data.draw(st.sampled_from(self.agent_ids()))
        self.pool.update_capacity(target, self.pool.agent(target).allocated + extra)

    @rule(
        request=cluster_kernels,
        selector=st.sampled_from(AgentSelector),
        architecture=st.sampled_from(ARCHITECTURES),
        image=st.sampled_from([None, "python"]),
        data=st.data(),
    )
    def place(
        self,
        request: list[ResourceSlots],
        selector: AgentSelector,
        architecture: str,
        image: str | None,
        data: st.DataObject,
    ) -> None:
        designated = None
        if self.pool and data.draw(st.integers(0, 4)) == 0:
            designated = data.draw(st.sampled_from(self.agent_ids()))
        before = [(a.agent_id, a.allocated, a.capacity, a.schedulable) for a in self.pool]
        placed = self.pool.place(
            request,
            selector=selector,
            architecture=architecture,
            image=image,
            designated_agent=designated,
        )
        assert [(a.agent_id, a.allocated, a.capacity, a.schedulable) for a in self.pool] == before
        candidates = eligible(self.pool, architecture, designated)
        if placed is None:
            # a refusal means it truly fits nowhere now
            assert not fits_by_brute_force(candidates, request)
            return
        # all or nothing, on eligible agents, without over-committing any of them
        assert [k.kernel_index for k in placed] == list(range(len(request)))
        assert [k.slots for k in placed] == request
        assert {k.agent_id for k in placed} <= {a.agent_id for a in candidates}
        if len(request) == 1 and designated is None and selector is not AgentSelector.ROUNDROBIN:
            self.check_choice(placed[0], candidates, selector)
        self.pool.allocate(placed)
        self.held += [(k.agent_id, k.slots) for k in placed]

    def check_choice(
        self, placed: KernelPlacement, candidates: list[AgentCapacity], selector: AgentSelector
    ) -> None:
        fitting = [a for a in candidates if placed.slots.fits_in(a.capacity - a.allocated)]
        rooms = {a.agent_id: room(a, placed.slots) for a in fitting}
        best = (min if selector is AgentSelector.CONCENTRATED else max)(rooms.values())
        assert rooms[placed.agent_id] == best

    @precondition(lambda self: len(self.held) > 0)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        agent_id, kernel = self.held.pop(data.draw(st.integers(0, len(self.held) - 1)))
        assert self.pool.release(agent_id, kernel)

    @invariant()
    def no_agent_is_over_committed(self) -> None:
        for a in self.pool:
            assert a.allocated.fits_in(a.capacity), (a.agent_id, a.allocated, a.capacity)
            assert not a.allocated.has_negative()

    @invariant()
    def allocations_add_up(self) -> None:
        for a in self.pool:
            assert a.allocated == ResourceSlots.sum(s for i, s in self.held if i == a.agent_id)


TestPoolMachine = PoolMachine.TestCase
TestPoolMachine.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)


@settings(max_examples=200, deadline=None)
@given(
    agent_capacities=st.lists(capacities(), max_size=5),
    request=cluster_kernels,
    selector=st.sampled_from(AgentSelector),
)
def test_can_ever_fit_agrees_with_place_on_an_empty_pool(
    agent_capacities: list[ResourceSlots], request: list[ResourceSlots], selector: AgentSelector
) -> None:
    pool = AgentPool(agent(n, c) for n, c in enumerate(agent_capacities, start=1))
    placed = pool.place(request, selector=selector, architecture="x86_64")
    assert pool.can_ever_fit(request, "x86_64") == (placed is not None)
    assert pool.can_ever_fit(request, "x86_64") == fits_by_brute_force(list(pool), request)


@settings(max_examples=100, deadline=None)
@given(
    agent_capacities=st.lists(capacities(), min_size=1, max_size=5),
    busy=st.lists(st.booleans(), min_size=5, max_size=5),
    request=cluster_kernels,
)
def test_can_ever_fit_ignores_current_load_and_draining(
    agent_capacities: list[ResourceSlots], busy: list[bool], request: list[ResourceSlots]
) -> None:
    pool = AgentPool(
        agent(n, c, allocated=c if full else None, schedulable=not full)
        for n, (c, full) in enumerate(zip(agent_capacities, busy, strict=False), start=1)
    )
    assert pool.can_ever_fit(request, "x86_64") == fits_by_brute_force(
        list(pool), request, empty=True
    )


@st.composite
def loaded_agents(draw: st.DrawFn) -> list[AgentCapacity]:
    """Two to four agents with up to half their cpu and memory already taken."""
    agents = []
    for number in range(1, draw(st.integers(2, 4)) + 1):
        capacity = slots(
            cpu=draw(st.integers(1, 6)),
            mem=draw(st.integers(1, 6)) * GiB,
            cuda_device=draw(st.integers(0, 2)),
        )
        taken = slots(
            cpu=draw(st.integers(0, int(capacity["cpu"]) // 2)),
            mem=draw(st.integers(0, int(capacity["mem"]) // GiB // 2)) * GiB,
            cuda_device=draw(st.integers(0, int(capacity["cuda.device"]))),
        )
        agents.append(agent(number, capacity, allocated=taken))
    return agents


@settings(max_examples=300, deadline=None)
@given(
    agents=loaded_agents(),
    request=st.lists(
        # skewed shapes, so that which kernel goes where matters
        st.sampled_from([slots(cpu=3, mem="1g"), slots(cpu=1, mem="3g"), slots(cpu=2, mem="2g")]),
        min_size=2,
        max_size=4,
    ),
    selector=st.sampled_from(AgentSelector),
)
def test_a_cluster_is_refused_only_when_no_assignment_fits(
    agents: list[AgentCapacity], request: list[ResourceSlots], selector: AgentSelector
) -> None:
    pool = AgentPool(agents)
    placed = pool.place(request, selector=selector, architecture="x86_64")
    assert (placed is not None) == fits_by_brute_force(list(pool), request)
    if placed is not None:
        pool.allocate(placed)  # raises if any agent would be over-committed


@settings(max_examples=100, deadline=None)
@given(
    cores=st.lists(st.integers(0, 3), min_size=1, max_size=6),
    placements=st.integers(1, 20),
)
def test_round_robin_visits_agents_in_turn(cores: list[int], placements: int) -> None:
    pool = AgentPool(agent(n, slots(cpu=c)) for n, c in enumerate(cores, start=1))
    free = list(cores)
    last = -1
    kernel = slots(cpu=1)
    for _ in range(placements):
        placed = pool.place([kernel], selector=AgentSelector.ROUNDROBIN, architecture="x86_64")
        turn = [(last + step) % len(free) for step in range(1, len(free) + 1)]
        expected = next((i for i in turn if free[i] >= 1), None)
        if expected is None:
            assert placed is None
            return
        assert placed is not None and placed[0].agent_id == UUID(int=expected + 1)
        pool.allocate(placed)
        free[expected] -= 1
        last = expected
