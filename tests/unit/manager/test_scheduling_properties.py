"""Property-based tests of the control plane over random histories.

Requests, completions, destroys, agent joins, losses and recoveries in random
order, checked after every step: no agent is ever over-committed, every live
session holds exactly its allocation, quotas are never exceeded, and once
capacity is free every session reaches an end.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from services.manager.domain.session import FINAL, LIVE, SessionStatus
from services.manager.scheduler.slots import ResourceSlots
from tests.unit.manager.control_plane import ControlPlane

CAP = 2  # the quota-bound user's max_concurrent_sessions


class ControlPlaneMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.cp = ControlPlane(Path(tempfile.mkdtemp()))
        self.bounded = self.cp.user_with_policy("bounded", max_concurrent_sessions=CAP)
        self.agents: list[UUID] = []
        self.lost: set[UUID] = set()
        self.sessions: list[UUID] = []
        self.names = 0

    def _live(self) -> list[UUID]:
        return [s for s in self.sessions if self.cp.status(s) in LIVE]

    @rule(cpu=st.integers(2, 8))
    def agent_joins(self, cpu: int) -> None:
        self.names += 1
        self.agents.append(self.cp.register(f"agent-{self.names}", cpu=cpu, mem="64g"))

    @precondition(lambda self: self.agents)
    @rule(
        cpu=st.integers(1, 4),
        size=st.integers(1, 2),
        batch=st.booleans(),
        bounded=st.booleans(),
        requeue=st.booleans(),
    )
    def request(self, cpu: int, size: int, batch: bool, bounded: bool, requeue: bool) -> None:
        group = self.cp.group()
        kernels = tuple(ResourceSlots.parse({"cpu": cpu, "mem": "1g"}) for _ in range(size))
        if not group.can_ever_hold(kernels, "x86_64"):
            return
        self.names += 1
        self.sessions.append(
            self.cp.request(
                f"s{self.names}",
                actor=self.bounded if bounded else None,
                resources={"cpu": cpu, "mem": "1g"},
                cluster_size=size,
                session_type="batch" if batch else "interactive",
                startup_command="run" if batch else None,
                requeue_on_agent_loss=requeue,
            )
        )

    @rule()
    def schedule(self) -> None:
        self.cp.schedule()

    @precondition(lambda self: self._live())
    @rule(data=st.data(), code=st.integers(0, 2))
    def run_to_exit(self, data: st.DataObject, code: int) -> None:
        sid = data.draw(st.sampled_from(self._live()))
        self.cp.start(sid)
        self.cp.exit(sid, code)

    @precondition(lambda self: self.sessions)
    @rule(data=st.data())
    def destroy(self, data: st.DataObject) -> None:
        sid = data.draw(st.sampled_from(self.sessions))
        if self.cp.status(sid) not in FINAL:
            self.cp.destroy(sid)

    @precondition(lambda self: set(self.agents) - self.lost)
    @rule(data=st.data())
    def lose_agent(self, data: st.DataObject) -> None:
        agent = data.draw(st.sampled_from(sorted(set(self.agents) - self.lost)))
        self.cp.lose(agent)
        self.lost.add(agent)

    @precondition(lambda self: self.lost)
    @rule(data=st.data())
    def recover_agent(self, data: st.DataObject) -> None:
        agent = data.draw(st.sampled_from(sorted(self.lost)))
        self.cp.recover(agent)
        self.lost.discard(agent)

    @invariant()
    def no_agent_is_over_committed(self) -> None:
        if not hasattr(self, "cp"):
            return
        for agent in self.cp.group().pool:
            assert agent.allocated.fits_in(agent.capacity), agent
            assert not agent.allocated.has_negative(), agent

    @invariant()
    def live_sessions_hold_exactly_their_allocation(self) -> None:
        if not hasattr(self, "cp"):
            return
        group = self.cp.group()
        for sid in self.sessions:
            session = self.cp.session(sid)
            if session.status is SessionStatus.PENDING:
                assert sid in group.queue
            if session.status in LIVE:
                live_kernels = {k.kernel_id for k in session.live_kernels()}
                allocated = (
                    set(group.allocations[sid].kernels) if sid in group.allocations else set()
                )
                assert allocated == live_kernels
            if session.status in FINAL:
                assert sid not in group.queue
        total = ResourceSlots.sum(
            slots for alloc in group.allocations.values() for _, slots in alloc.kernels.values()
        )
        assert total == ResourceSlots.sum(a.allocated for a in group.pool)

    @invariant()
    def the_bounded_user_never_runs_more_than_its_quota(self) -> None:
        if not hasattr(self, "cp"):
            return
        running = [
            s
            for s in self.sessions
            if self.cp.session(s).access_key == self.bounded and self.cp.status(s) in LIVE
        ]
        assert len(running) <= CAP

    def teardown(self) -> None:
        if not hasattr(self, "cp"):
            return
        # Free capacity for everyone, then run every session to its end.
        for agent in sorted(self.lost):
            self.cp.recover(agent)
        self.cp.register("rescue", cpu=16, mem="64g")
        for _ in range(4 * len(self.sessions) + 4):
            self.cp.schedule()
            live = self._live()
            if not live and all(
                self.cp.status(s) is not SessionStatus.PENDING for s in self.sessions
            ):
                break
            for sid in live:
                self.cp.start(sid)
                self.cp.exit(sid, 0)
        stuck = [(s, self.cp.status(s)) for s in self.sessions if self.cp.status(s) not in FINAL]
        assert stuck == []


ControlPlaneMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestControlPlane = ControlPlaneMachine.TestCase


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=8), st.integers(4, 6))
def test_fifo_places_a_prefix_of_the_arrival_order(sizes: list[int], capacity: int) -> None:
    """Strict head-of-line blocking: FIFO never lets a later session overtake."""
    cp = ControlPlane(Path(tempfile.mkdtemp()))
    cp.register("only", cpu=capacity, mem="64g")
    sids = [cp.request(f"s{i}", resources={"cpu": size}) for i, size in enumerate(sizes)]
    for _ in range(len(sids) + 1):
        cp.schedule()
        placed = [cp.status(s) is not SessionStatus.PENDING for s in sids]
        assert placed == sorted(placed, reverse=True), placed
        for sid, was_placed in zip(sids, placed, strict=True):
            if was_placed and cp.status(sid) in LIVE:
                cp.start(sid)
                cp.exit(sid, 0)
                break
    assert all(cp.status(s) is SessionStatus.TERMINATED for s in sids)
