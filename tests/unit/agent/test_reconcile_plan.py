"""Reconciliation's plan: every combination of decision, container and reported fact."""

from __future__ import annotations

from uuid import UUID, uuid4

from events.agent import KernelAssigned, KernelReleased, KernelTerminationRequested
from services.agent.desired import DesiredState
from services.agent.reconcile import Action, ObservedContainer, Reported, Step, plan
from tests.factories import T0

AGENT = uuid4()


def _assigned(kernel_id: UUID) -> KernelAssigned:
    return KernelAssigned(
        originator_id=AGENT,
        originator_version=2,
        timestamp=T0,
        session_id=uuid4(),
        kernel_id=kernel_id,
        kernel_index=0,
        session_type="batch",
        image="berth-small",
        slots={"cpu": "1", "mem": "67108864"},
    )


def _desired(*kernels: UUID) -> DesiredState:
    state = DesiredState()
    for kid in kernels:
        state.apply(_assigned(kid))
    return state


def test_a_new_kernel_is_created_once_and_never_after_it_finished() -> None:
    kid = uuid4()
    assert plan(_desired(kid), [], {}) == [Step(Action.CREATE, kid)]
    assert plan(_desired(kid), [], {kid: {Reported.CREATED, Reported.EXITED}}) == []
    assert plan(_desired(kid), [], {kid: {Reported.FAILED}}) == []


def test_running_containers_are_adopted_and_exited_ones_reported() -> None:
    a, b, c = uuid4(), uuid4(), uuid4()
    containers = [
        ObservedContainer("ca", a, running=True, exit_code=None),
        ObservedContainer("cb", b, running=False, exit_code=3),
        ObservedContainer("cc", c, running=False, exit_code=None, fresh=True),
    ]
    steps = plan(_desired(a, b, c), containers, {})
    assert set(steps) == {
        Step(Action.ADOPT, a, "ca"),
        Step(Action.REPORT_EXIT, b, "cb"),
        Step(Action.START, c, "cc"),
    }


def test_a_container_that_vanished_after_it_was_reported_created_is_a_failure() -> None:
    kid = uuid4()
    assert plan(_desired(kid), [], {kid: {Reported.CREATED}}) == [Step(Action.REPORT_VANISHED, kid)]


def test_a_kernel_terminated_before_it_had_a_container_is_reported_exited() -> None:
    kid = uuid4()
    state = _desired(kid)
    state.apply(
        KernelTerminationRequested(
            originator_id=AGENT,
            originator_version=3,
            timestamp=T0,
            session_id=uuid4(),
            kernel_id=kid,
            reason="destroyed",
        )
    )
    assert plan(state, [], {}) == [Step(Action.REPORT_NEVER_STARTED, kid)]


def test_containers_of_released_or_unknown_kernels_are_orphans() -> None:
    released, stranger = uuid4(), uuid4()
    state = _desired(released)
    state.apply(
        KernelReleased(
            originator_id=AGENT,
            originator_version=3,
            timestamp=T0,
            session_id=uuid4(),
            kernel_id=released,
            reason="exited",
        )
    )
    containers = [
        ObservedContainer("c1", released, running=False, exit_code=0),
        ObservedContainer("c2", stranger, running=True, exit_code=None),
        ObservedContainer("c3", None, running=True, exit_code=None),
    ]
    assert plan(state, containers, {}) == [
        Step(Action.REMOVE_ORPHAN, released, "c1"),
        Step(Action.REMOVE_ORPHAN, stranger, "c2"),
        Step(Action.REMOVE_ORPHAN, None, "c3"),
    ]
    # A released kernel is never wanted again, even if its assignment is replayed.
    state.apply(_assigned(released))
    assert released not in state.kernels


def test_busy_kernels_are_left_alone() -> None:
    kid = uuid4()
    containers = [ObservedContainer("c", kid, running=True, exit_code=None)]
    assert plan(_desired(kid), containers, {}, busy=frozenset({kid})) == []
