"""What a simulated agent reports for the decisions it receives, on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from events.agent import KernelAssigned, KernelReleased, KernelTerminationRequested
from events.facts import AnyFact, KernelCreated, KernelExited, KernelStarted
from services.agent.simulated.kernels import (
    TERMINATED_EXIT_CODE,
    Due,
    FleetModel,
    Stage,
    Timing,
    exit_code_of,
)
from services.agent.simulated.timeline import Timeline

T0 = datetime(2030, 1, 1, tzinfo=UTC)
AGENT = UUID(int=1)
OTHER_AGENT = UUID(int=2)


def assigned(
    session_type: str = "batch",
    command: str | None = "exit 0",
    agent: UUID = AGENT,
    version: int = 2,
) -> KernelAssigned:
    return KernelAssigned(
        originator_id=agent,
        originator_version=version,
        timestamp=T0,
        session_id=uuid4(),
        kernel_id=uuid4(),
        kernel_index=0,
        session_type=session_type,
        image="python",
        slots={"cpu": "1"},
        startup_command=command,
    )


def termination(event: KernelAssigned) -> KernelTerminationRequested:
    return KernelTerminationRequested(
        originator_id=event.originator_id,
        originator_version=event.originator_version + 1,
        timestamp=T0,
        session_id=event.session_id,
        kernel_id=event.kernel_id,
        reason="destroyed by its owner",
    )


def released(event: KernelAssigned) -> KernelReleased:
    return KernelReleased(
        originator_id=event.originator_id,
        originator_version=event.originator_version + 2,
        timestamp=T0,
        session_id=event.session_id,
        kernel_id=event.kernel_id,
        reason="exited",
    )


class Clock:
    """Drives a model through a timeline, as the fleet does, but on made-up time."""

    def __init__(self, model: FleetModel) -> None:
        self.model = model
        self.timeline = Timeline()
        self.now = 0.0

    def plan(self, dues: list[Due]) -> None:
        self.timeline.plan(self.now, dues)

    def advance(self, seconds: float) -> list[AnyFact]:
        self.now += seconds
        at = T0 + timedelta(seconds=self.now)
        due = self.timeline.pop_due(self.now)
        return [f for d in due if (f := self.model.take(d, at)) is not None]


def model(start: float = 1.0, run: float = 5.0) -> FleetModel:
    m = FleetModel(timing=Timing(start_delay=start, run_seconds=run))
    m.add_agent(AGENT)
    return m


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("exit 3", 3),
        ("  exit 0 ;", 0),
        ("exit 256", 0),
        ("exit 300", 44),
        ("exit -1", 255),
        ("python train.py", 0),
        ("exit 3 && echo no", 0),
        ("", 0),
        (None, 0),
    ],
)
def test_a_batch_kernel_exits_with_the_code_its_command_names(
    command: str | None, code: int
) -> None:
    assert exit_code_of(command) == code


def test_a_batch_kernel_is_created_started_and_exits_on_time() -> None:
    m = model(start=1.0, run=5.0)
    clock = Clock(m)
    event = assigned(command="exit 3")
    clock.plan(m.on_event(event))

    created = clock.advance(0)
    assert [type(f) for f in created] == [KernelCreated]
    assert created[0].kernel_id == event.kernel_id
    assert created[0].session_id == event.session_id
    assert created[0].agent_id == AGENT
    assert clock.advance(0.9) == []
    assert [type(f) for f in clock.advance(0.1)] == [KernelStarted]
    assert clock.advance(4.9) == []
    (exited,) = clock.advance(0.1)
    assert isinstance(exited, KernelExited)
    assert exited.exit_code == 3
    assert exited.detail == ""


def test_with_no_delays_the_facts_still_come_in_order() -> None:
    m = model(start=0.0, run=0.0)
    clock = Clock(m)
    clock.plan(m.on_event(assigned()))
    assert [type(f) for f in clock.advance(0)] == [KernelCreated, KernelStarted, KernelExited]


def test_an_interactive_kernel_runs_until_it_is_asked_to_stop() -> None:
    m = model()
    clock = Clock(m)
    event = assigned(session_type="interactive", command=None)
    clock.plan(m.on_event(event))
    assert [type(f) for f in clock.advance(2)] == [KernelCreated, KernelStarted]
    assert clock.advance(3600) == []

    clock.plan(m.on_event(termination(event)))
    (exited,) = clock.advance(0)
    assert isinstance(exited, KernelExited)
    assert exited.exit_code == TERMINATED_EXIT_CODE
    assert exited.detail == "terminated"
    # Asked again (a redelivery): nothing more to say.
    assert m.on_event(termination(event)) == []


def test_a_kernel_stopped_before_it_started_reports_only_its_exit() -> None:
    m = model(start=1.0, run=5.0)
    clock = Clock(m)
    event = assigned()
    clock.plan(m.on_event(event))
    assert [type(f) for f in clock.advance(0)] == [KernelCreated]
    clock.plan(m.on_event(termination(event)))
    facts = clock.advance(10)
    assert [type(f) for f in facts] == [KernelExited]
    assert isinstance(facts[0], KernelExited)
    assert facts[0].detail == "terminated"


def test_decisions_for_other_agents_and_repeated_assignments_are_ignored() -> None:
    m = model()
    assert m.on_event(assigned(agent=OTHER_AGENT)) == []
    event = assigned()
    assert len(m.on_event(event)) == 3
    assert m.on_event(event) == []


def test_a_released_kernel_is_forgotten_and_owes_nothing() -> None:
    m = model()
    clock = Clock(m)
    event = assigned()
    clock.plan(m.on_event(event))
    clock.advance(0)
    m.on_event(released(event))
    assert m.kernels == {}
    assert clock.advance(100) == []


def test_a_silent_agent_reports_nothing_and_catches_up_when_it_speaks_again() -> None:
    m = model(start=1.0, run=5.0)
    clock = Clock(m)
    event = assigned(command="exit 7")
    clock.plan(m.on_event(event))
    assert [type(f) for f in clock.advance(1)] == [KernelCreated, KernelStarted]
    m.silence([AGENT])
    assert m.speaking() == []
    assert clock.advance(100) == []

    clock.plan(m.speak([AGENT]))
    assert m.speaking() == [AGENT]
    # It had started: it runs its full time again, then exits with its code.
    assert clock.advance(4.9) == []
    (exited,) = clock.advance(0.1)
    assert isinstance(exited, KernelExited)
    assert exited.exit_code == 7


def test_after_a_restart_only_what_was_not_reported_is_reported() -> None:
    before = model(start=1.0, run=5.0)
    clock = Clock(before)
    batch, interactive = assigned(), assigned(session_type="interactive", command=None)
    for event in (batch, interactive):
        clock.plan(before.on_event(event))
    sent = clock.advance(1)
    assert len(sent) == 4

    # A new process: decisions replayed (nothing planned), facts read back, then resumed.
    after = model(start=1.0, run=5.0)
    for event in (batch, interactive):
        after.on_event(event)
    for fact in sent:
        after.reported(fact)
    owed = after.resume()
    assert owed == [Due(5.0, batch.kernel_id, Stage.EXITED)]


def test_a_termination_requested_while_down_is_answered_after_a_restart() -> None:
    m = model()
    event = assigned(session_type="interactive", command=None)
    m.on_event(event)
    m.on_event(termination(event))
    assert m.resume() == [Due(0.0, event.kernel_id, Stage.EXITED)]
    fact = m.take(Due(0.0, event.kernel_id, Stage.EXITED), T0)
    assert isinstance(fact, KernelExited)
    assert fact.detail == "terminated"
    assert m.take(Due(0.0, event.kernel_id, Stage.EXITED), T0) is None
