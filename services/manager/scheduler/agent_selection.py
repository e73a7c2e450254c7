"""Agent selection: which agents of a resource group take a session's kernels.

``AgentPool.place`` answers with an agent for every kernel of a session, or ``None``. It never
over-commits an agent, considers only schedulable agents of the session's architecture (or only
the designated agent), and accounts cumulatively within one decision, so kernels of a cluster
session may share an agent that has room for all of them.

Selectors, using the *room* defined in ``room_index`` (the free fraction of an agent's scarcest
requested resource):

- ``concentrated``: the fitting agent with the least room (best fit: sessions pile onto few
  agents and whole agents stay free for large sessions);
- ``dispersed``: the fitting agent with the most room (spreads load);
- ``roundrobin``: the next fitting agent, in joining order, after the last one charged.

For concentrated and dispersed, among agents of equal room one that already has the session's
image is preferred (it starts sooner); otherwise the earlier-joined agent wins. Round-robin has
no ties, so it ignores images.

A cluster session is placed greedily, kernel after kernel. If that fails, a depth-first search
with a budget looks for any assignment, so that a refusal means "does not fit now" rather than
"the greedy order was unlucky".
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from uuid import UUID

from services.manager.scheduler.agent_roster import (
    AgentNotInPool,
    AgentRoster,
    AgentState,
    WouldOverCommit,
    fitting,
)
from services.manager.scheduler.model import (
    AgentCapacity,
    KernelPlacement,
    PendingSession,
    Placement,
)
from services.manager.scheduler.room_index import RoomIndex
from services.manager.scheduler.slots import ResourceSlots

__all__ = ["AgentNotInPool", "AgentPool", "AgentSelector", "WouldOverCommit"]

#: Agent examinations a cluster search may spend before it gives up (and refuses for now).
_SEARCH_BUDGET = 200_000
_EVER_FIT_CACHE = 4096


class AgentSelector(StrEnum):
    CONCENTRATED = "concentrated"
    DISPERSED = "dispersed"
    ROUNDROBIN = "roundrobin"


class _GaveUp(enum.Enum):
    # The cluster search ran out of budget: the answer is unknown, not "no".
    GAVE_UP = enum.auto()


class AgentPool(AgentRoster):
    """The agents of one resource group, and the placement decisions made on them."""

    def __init__(self, agents: Iterable[AgentCapacity] = ()) -> None:
        self._ever_fit: dict[tuple[tuple[ResourceSlots, ...], str], bool] = {}
        super().__init__(agents)

    def place(
        self,
        kernels: Sequence[ResourceSlots],
        *,
        selector: AgentSelector,
        architecture: str,
        image: str | None = None,
        designated_agent: UUID | None = None,
    ) -> tuple[KernelPlacement, ...] | None:
        """An agent for every kernel now, or None. Changes nothing; see ``allocate``."""
        kernels = tuple(kernels)
        decision = self._decide(kernels, architecture, selector, image, designated_agent)
        if decision is None or decision is _GaveUp.GAVE_UP:
            return None
        return tuple(
            KernelPlacement(number, state.record.agent_id, kernel)
            for number, (state, kernel) in enumerate(zip(decision, kernels, strict=True))
        )

    def place_session(self, session: PendingSession, selector: AgentSelector) -> Placement | None:
        kernels = self.place(
            session.kernels,
            selector=selector,
            architecture=session.architecture,
            image=session.image,
            designated_agent=session.designated_agent,
        )
        return None if kernels is None else Placement(session.session_id, kernels)

    def can_ever_fit(
        self,
        kernels: Sequence[ResourceSlots],
        architecture: str,
        *,
        designated_agent: UUID | None = None,
    ) -> bool:
        """Whether the kernels would fit if the agents of ``architecture`` were all empty.

        Agents that are not schedulable now count too: draining is temporary. False means the
        request can never be placed in this resource group as it stands.
        """
        kernels = tuple(kernels)
        if designated_agent is not None:
            if not self.has_agent(designated_agent):
                return False
            agent = self.agent(designated_agent)
            return agent.architecture == architecture and ResourceSlots.sum(kernels).fits_in(
                agent.capacity
            )
        key = (kernels, architecture)
        known = self._ever_fit.get(key)
        if known is not None:
            return known
        # Empty agents of equal capacity are interchangeable, and N kernels use at most N
        # agents, so N agents of each capacity are as good as all of them.
        shapes = Counter(agent.capacity for agent in self if agent.architecture == architecture)
        empty = AgentPool(
            [
                AgentCapacity(UUID(int=number), capacity, ResourceSlots(), architecture)
                for number, capacity in enumerate(
                    capacity
                    for capacity, count in shapes.items()
                    for _ in range(min(count, len(kernels)))
                )
            ]
        )
        decision = empty._decide(kernels, architecture, AgentSelector.CONCENTRATED, None, None)
        # A search that gave up has not proven "never": let the session wait instead.
        fits = decision is not None
        if len(self._ever_fit) >= _EVER_FIT_CACHE:
            self._ever_fit.clear()
        self._ever_fit[key] = fits
        return fits

    def _capacity_changed(self, architecture: str) -> None:
        super()._capacity_changed(architecture)
        self._ever_fit.clear()

    # -- deciding ---------------------------------------------------------------------------

    def _decide(
        self,
        kernels: tuple[ResourceSlots, ...],
        architecture: str,
        selector: AgentSelector,
        image: str | None,
        designated_agent: UUID | None,
    ) -> tuple[AgentState, ...] | _GaveUp | None:
        if not kernels:
            return ()
        for kernel in kernels:
            if kernel.has_negative():
                raise ValueError(f"a kernel cannot request negative amounts: {kernel}")
        if designated_agent is not None:
            state = self._agents.get(designated_agent)
            if (
                state is None
                or not state.record.schedulable
                or state.record.architecture != architecture
                or not ResourceSlots.sum(kernels).fits_in(state.available)
            ):
                return None
            return (state,) * len(kernels)
        if len(kernels) == 1:
            state = self._choose(kernels[0], architecture, selector, image, self._cursor)
            return None if state is None else (state,)
        greedy = self._greedy(kernels, architecture, selector, image)
        if greedy is not None:
            return greedy
        return self._search(kernels, architecture, selector)

    def _candidates(
        self, kernel: ResourceSlots, architecture: str, selector: AgentSelector, cursor: int
    ) -> Iterator[AgentState]:
        """Every agent that fits ``kernel`` now, best first for ``selector`` (images aside)."""
        if selector is AgentSelector.ROUNDROBIN:
            # Prove cheaply (by room, with pruning) that something fits before walking in turn:
            # on a full pool the walk would otherwise examine every agent.
            if next(self._by_room(kernel, architecture, most_first=False), None) is None:
                return iter(())
            return self._in_turn(kernel, architecture, cursor)
        return self._by_room(kernel, architecture, most_first=selector is AgentSelector.DISPERSED)

    def _choose(
        self,
        kernel: ResourceSlots,
        architecture: str,
        selector: AgentSelector,
        image: str | None,
        cursor: int,
    ) -> AgentState | None:
        first = next(self._candidates(kernel, architecture, selector, cursor), None)
        if first is None or image is None or selector is AgentSelector.ROUNDROBIN:
            return first
        holders = self._image_holders.get(image)
        if not holders or first.seq in holders:
            return first
        index = self._index(architecture, kernel.kinds)
        assert index is not None  # an agent was found in it
        return self._holder_of_equal_room(index, first, kernel, holders) or first

    def _holder_of_equal_room(
        self, index: RoomIndex, first: AgentState, kernel: ResourceSlots, holders: set[int]
    ) -> AgentState | None:
        """The first agent after ``first`` with the same room that has the image and fits."""
        # Agents of equal room before ``first`` were already found not to fit. Scan whichever
        # is shorter: the rest of the run of equal room, or the image's holders.
        if len(holders) < index.count_run_after(first.seq):
            room = index.room_of(first.seq)
            seqs = sorted(seq for seq in holders if seq > first.seq and index.room_of(seq) == room)
        else:
            seqs = [seq for seq in index.run_after(first.seq) if seq in holders]
        return next(fitting(kernel, (self._by_seq[seq] for seq in seqs)), None)

    def _greedy(
        self,
        kernels: tuple[ResourceSlots, ...],
        architecture: str,
        selector: AgentSelector,
        image: str | None,
    ) -> tuple[AgentState, ...] | None:
        # Kernels are charged tentatively as they are chosen, so that the next one sees the
        # room that is really left; everything is put back before returning.
        chosen: list[AgentState] = []
        saved: list[tuple[AgentState, ResourceSlots]] = []
        cursor = self._cursor
        try:
            for number, kernel in enumerate(kernels):
                state = self._choose(kernel, architecture, selector, image, cursor)
                if state is None:
                    return None
                chosen.append(state)
                cursor = state.seq
                if number < len(kernels) - 1:
                    saved.append((state, state.record.allocated))
                    self._set_allocated(state, state.record.allocated + kernel)
            return tuple(chosen)
        finally:
            for state, allocated in reversed(saved):
                self._set_allocated(state, allocated)

    def _search(
        self, kernels: tuple[ResourceSlots, ...], architecture: str, selector: AgentSelector
    ) -> tuple[AgentState, ...] | _GaveUp | None:
        """Depth-first search over assignments, in selector order, within a budget.

        The largest kernels go first, so that a session that cannot fit fails at the top of
        the tree. Agents with identical available slots are interchangeable for the kernels
        still to place, so only one of them is tried at each depth.
        """
        total = self.total(architecture)
        order = sorted(range(len(kernels)), key=lambda n: -kernels[n].dominant_share(total))
        budget = _SEARCH_BUDGET
        width = max(1, len(self._schedulable.get(architecture, ())))
        chosen: dict[int, AgentState] = {}
        saved: list[tuple[AgentState, ResourceSlots]] = []

        def visit(depth: int, cursor: int) -> bool | None:
            nonlocal budget
            if depth == len(order):
                return True
            budget -= width
            if budget < 0:
                return None
            number = order[depth]
            kernel = kernels[number]
            seen: set[ResourceSlots] = set()
            candidates = []
            for state in self._candidates(kernel, architecture, selector, cursor):
                if state.available not in seen:
                    seen.add(state.available)
                    candidates.append(state)
            for state in candidates:
                chosen[number] = state
                saved.append((state, state.record.allocated))
                self._set_allocated(state, state.record.allocated + kernel)
                found = visit(depth + 1, state.seq)
                if found is not False:
                    return found
                self._set_allocated(state, saved.pop()[1])
            return False

        try:
            found = visit(0, self._cursor)
        finally:
            for state, allocated in reversed(saved):
                self._set_allocated(state, allocated)
        if found is None:
            return _GaveUp.GAVE_UP
        return tuple(chosen[number] for number in range(len(kernels))) if found else None
