"""The agents of one resource group: capacity, allocations, and indices for choosing quickly.

``AgentRoster`` is the bookkeeping half of the agent pool (``agent_selection.AgentPool`` adds the
decisions). It keeps each agent's record, the schedulable agents of each architecture in joining
order (for round-robin) and in order of room (``room_index``) for each set of slot kinds that
has been asked for, and it updates them on every change so that choosing an agent never needs
a scan of all agents in the common case.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from itertools import chain
from uuid import UUID

from services.manager.scheduler.model import AgentCapacity, KernelPlacement, Placement
from services.manager.scheduler.room_index import RoomIndex
from services.manager.scheduler.slots import ResourceSlots

#: How many room indices (distinct sets of requested slot kinds) one architecture keeps.
_MAX_INDICES = 16


class AgentNotInPool(KeyError):
    def __init__(self, agent_id: UUID) -> None:
        super().__init__(f"agent {agent_id} is not in this pool")
        self.agent_id = agent_id


class WouldOverCommit(ValueError):
    def __init__(self, agent_id: UUID, requested: ResourceSlots, available: ResourceSlots):
        super().__init__(f"agent {agent_id} has {available} available, {requested} requested")
        self.agent_id = agent_id
        self.requested = requested
        self.available = available


class AgentState:
    """The roster's entry for one agent: its record, joining number and what is available."""

    __slots__ = ("available", "record", "seq")

    def __init__(self, record: AgentCapacity, seq: int) -> None:
        self.record = record
        self.seq = seq
        self.available = record.capacity - record.allocated


def fitting(kernel: ResourceSlots, agents: Iterable[AgentState]) -> Iterator[AgentState]:
    """The agents that have room for ``kernel`` now, in the order given."""
    request = kernel.approx()
    for agent in agents:
        available = agent.available
        floats = available.approx()
        # Floats first (sound: a float shortfall proves an exact one), exact amounts decide.
        for name, amount in request.items():
            if floats.get(name, 0.0) < amount:
                break
        else:
            if kernel.fits_in(available):
                yield agent


class AgentRoster:
    """Agents with their capacity and allocations; changed only through these methods."""

    def __init__(self, agents: Iterable[AgentCapacity] = ()) -> None:
        self._agents: dict[UUID, AgentState] = {}
        self._by_seq: dict[int, AgentState] = {}
        self._next_seq = 0
        # Per architecture: joining numbers of schedulable agents, ascending (round-robin order).
        self._schedulable: dict[str, list[int]] = {}
        self._indices: dict[str, dict[frozenset[str], RoomIndex]] = {}
        # Per architecture: at least the largest capacity of each slot, for pruning; None = stale.
        self._ceiling: dict[str, dict[str, float] | None] = {}
        self._image_holders: dict[str, set[int]] = {}
        self._totals: dict[str | None, ResourceSlots] = {}
        #: joining number of the agent that took the last kernel charged (round-robin cursor)
        self._cursor = -1
        for agent in agents:
            self.add_agent(agent)

    # -- reading ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._agents)

    def __iter__(self) -> Iterator[AgentCapacity]:
        """The records, in joining order. Read them; change them only through the pool."""
        return (state.record for state in self._agents.values())

    def has_agent(self, agent_id: UUID) -> bool:
        return agent_id in self._agents

    def agent(self, agent_id: UUID) -> AgentCapacity:
        """The agent's record (read-only: change it through the pool's methods)."""
        return self._state(agent_id).record

    def images(self) -> frozenset[str]:
        """The images that at least one agent of the pool has."""
        return frozenset(image for image, holders in self._image_holders.items() if holders)

    def total(self, architecture: str | None = None) -> ResourceSlots:
        """The capacity of all agents (of one architecture), schedulable or not."""
        total = self._totals.get(architecture)
        if total is None:
            total = ResourceSlots.sum(
                state.record.capacity
                for state in self._agents.values()
                if architecture is None or state.record.architecture == architecture
            )
            self._totals[architecture] = total
        return total

    # -- membership and capacity ------------------------------------------------------------

    def add_agent(self, agent: AgentCapacity) -> None:
        if agent.agent_id in self._agents:
            raise ValueError(f"agent {agent.agent_id} is already in this pool")
        # The roster keeps its own record so that nobody changes it behind the indices' back.
        state = AgentState(dataclasses.replace(agent), self._next_seq)
        self._next_seq += 1
        self._agents[agent.agent_id] = state
        self._by_seq[state.seq] = state
        for image in agent.images:
            self._image_holders.setdefault(image, set()).add(state.seq)
        self._capacity_changed(state.record.architecture)
        if agent.schedulable:
            self._enlist(state)

    def remove_agent(self, agent_id: UUID) -> AgentCapacity:
        """Take an agent out (it left or was lost); returns its record with its allocations."""
        state = self._state(agent_id)
        if state.record.schedulable:
            self._delist(state)
        for image in state.record.images:
            self._image_holders[image].discard(state.seq)
        del self._agents[agent_id], self._by_seq[state.seq]
        self._capacity_changed(state.record.architecture)
        return state.record

    def set_schedulable(self, agent_id: UUID, schedulable: bool) -> None:
        state = self._state(agent_id)
        if state.record.schedulable == schedulable:
            return
        state.record.schedulable = schedulable
        if schedulable:
            self._enlist(state)
        else:
            self._delist(state)

    def update_capacity(
        self, agent_id: UUID, capacity: ResourceSlots, images: frozenset[str] | None = None
    ) -> None:
        """The agent reports new capacity (and, when given, its images).

        Capacity may drop below what is allocated (hardware lost): nothing more is placed on the
        slots that are short until enough is released.
        """
        state = self._state(agent_id)
        record = state.record
        if images is not None:
            for image in record.images - images:
                self._image_holders[image].discard(state.seq)
            for image in images - record.images:
                self._image_holders.setdefault(image, set()).add(state.seq)
            record.images = images
        record.capacity = capacity
        self._capacity_changed(record.architecture)
        self._set_allocated(state, record.allocated)

    # -- allocations ------------------------------------------------------------------------

    def allocate(self, placement: Placement | Iterable[KernelPlacement]) -> None:
        """Record a decision, after checking it: refuses, changing nothing, one that would
        over-commit an agent or names an agent that is not in the pool."""
        kernels = placement.kernels if isinstance(placement, Placement) else tuple(placement)
        needed: dict[UUID, ResourceSlots] = {}
        for kernel in kernels:
            already = needed.get(kernel.agent_id)
            needed[kernel.agent_id] = kernel.slots if already is None else already + kernel.slots
        for agent_id, slots in needed.items():
            state = self._state(agent_id)
            if slots.has_negative():
                raise ValueError(f"cannot allocate negative amounts: {slots}")
            if not slots.fits_in(state.available):
                raise WouldOverCommit(agent_id, slots, state.available)
        for kernel in kernels:
            self.charge(kernel.agent_id, kernel.slots)

    def charge(self, agent_id: UUID, slots: ResourceSlots) -> None:
        """Record an allocation that was already decided (replaying history).

        Never refuses for capacity, so that recorded history can always be loaded; ``allocate``
        is the checked way to record a new decision. Moves the round-robin cursor to the agent,
        so replaying the same history restores the same turn.
        """
        state = self._state(agent_id)
        if slots.has_negative():
            raise ValueError(f"cannot allocate negative amounts: {slots}")
        self._set_allocated(state, state.record.allocated + slots)
        self._cursor = state.seq

    def release(self, agent_id: UUID, slots: ResourceSlots) -> bool:
        """Give back what a kernel held. False when the agent is gone (its allocations left with
        it); releasing more than is allocated is a bookkeeping error and raises."""
        state = self._agents.get(agent_id)
        if state is None:
            return False
        if slots.has_negative() or not slots.fits_in(state.record.allocated):
            raise ValueError(
                f"cannot release {slots} from agent {agent_id}: {state.record.allocated} allocated"
            )
        self._set_allocated(state, state.record.allocated - slots)
        return True

    # -- orders of candidates (used by the pool's decisions) --------------------------------

    def _by_room(
        self, kernel: ResourceSlots, architecture: str, *, most_first: bool
    ) -> Iterator[AgentState]:
        """Schedulable agents that fit ``kernel``, by room (least or most first)."""
        index = self._index(architecture, kernel.kinds)
        bound = self._bound(architecture, kernel)
        if index is None or bound is None:
            return iter(())
        seqs = index.descending(bound) if most_first else index.ascending(bound)
        return fitting(kernel, (self._by_seq[seq] for seq in seqs))

    def _in_turn(
        self, kernel: ResourceSlots, architecture: str, after: int
    ) -> Iterator[AgentState]:
        """Schedulable agents that fit ``kernel``, in joining order after ``after``, wrapping."""
        order = self._schedulable.get(architecture, [])
        start = bisect_right(order, after)
        return fitting(kernel, (self._by_seq[seq] for seq in chain(order[start:], order[:start])))

    # -- bookkeeping ------------------------------------------------------------------------

    def _state(self, agent_id: UUID) -> AgentState:
        state = self._agents.get(agent_id)
        if state is None:
            raise AgentNotInPool(agent_id)
        return state

    def _set_allocated(self, state: AgentState, allocated: ResourceSlots) -> None:
        record = state.record
        record.allocated = allocated
        state.available = available = record.capacity - allocated
        if record.schedulable:
            indices = self._indices.get(record.architecture)
            if indices:
                floats, capacity = available.approx(), record.capacity.approx()
                for index in indices.values():
                    index.put(state.seq, index.room(floats, capacity))

    def _enlist(self, state: AgentState) -> None:
        architecture = state.record.architecture
        insort(self._schedulable.setdefault(architecture, []), state.seq)
        floats, capacity = state.available.approx(), state.record.capacity.approx()
        for index in self._indices.get(architecture, {}).values():
            index.put(state.seq, index.room(floats, capacity))

    def _delist(self, state: AgentState) -> None:
        architecture = state.record.architecture
        order = self._schedulable[architecture]
        del order[bisect_left(order, state.seq)]
        for index in self._indices.get(architecture, {}).values():
            index.discard(state.seq)

    def _index(self, architecture: str, kinds: frozenset[str]) -> RoomIndex | None:
        order = self._schedulable.get(architecture)
        if not order:
            return None
        indices = self._indices.setdefault(architecture, {})
        index = indices.pop(kinds, None)
        if index is None:
            if len(indices) >= _MAX_INDICES:
                # Least recently used goes: dicts keep insertion order and every use re-inserts.
                del indices[next(iter(indices))]
            index = RoomIndex(kinds)
            states = [self._by_seq[seq] for seq in order]
            index.build(
                {
                    s.seq: index.room(s.available.approx(), s.record.capacity.approx())
                    for s in states
                }
            )
        indices[kinds] = index
        return index

    def _bound(self, architecture: str, kernel: ResourceSlots) -> float | None:
        """The least room an agent that fits ``kernel`` can have; None when none ever can."""
        ceiling = self._ceiling.get(architecture)
        if ceiling is None:
            ceiling = {}
            for state in self._agents.values():
                if state.record.architecture == architecture:
                    for name, amount in state.record.capacity.approx().items():
                        ceiling[name] = max(ceiling.get(name, 0.0), amount)
            self._ceiling[architecture] = ceiling
        if not kernel:
            return float("-inf")
        bound = float("inf")
        for name, amount in kernel.approx().items():
            whole = ceiling.get(name, 0.0)
            if whole <= 0:
                return None
            bound = min(bound, amount / whole)
        return bound

    def _capacity_changed(self, architecture: str) -> None:
        # Recomputed lazily. A ceiling that is too low would prune agents that fit, so it is
        # dropped on every change rather than patched.
        self._ceiling[architecture] = None
        self._totals.clear()
