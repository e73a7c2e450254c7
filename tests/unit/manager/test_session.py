"""The Session aggregate's lifecycle, on its own (no store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec
import pytest

from events import codec
from events.session import (
    KernelAssignment,
    KernelObservation,
    KernelObserved,
    SessionPreparing,
    SessionRequested,
    SessionRunning,
)
from services.manager.domain.session import (
    KernelState,
    Session,
    SessionStateError,
    SessionStatus,
    session_id_for,
)
from tests.factories import requested_session

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def scheduled(session_type: str = "batch", kernels: int = 1) -> Session:
    session = requested_session(
        session_type=session_type,
        startup_command="run" if session_type == "batch" else None,
        at=T0,
    )
    if kernels > 1:
        spec = session.requested.kernels[0]
        session = requested_session(
            session_type=session_type,
            kernels=[type(spec)(index=i, role="sub", slots=spec.slots) for i in range(kernels)],
            at=T0,
        )
    agent = uuid4()
    session.schedule(
        [
            KernelAssignment(index=i, kernel_id=uuid4(), agent_id=agent, slots={"cpu": "1"})
            for i in range(kernels)
        ],
        T0,
    )
    return session


def test_request_is_pending_with_a_deterministic_id() -> None:
    session = requested_session(access_key="AK1", request_id="r-1", at=T0)
    assert [type(e) for e in session.collect_events()] == [SessionRequested]
    assert session.status is SessionStatus.PENDING
    assert session.id == session_id_for("AK1", "r-1")


def test_a_batch_session_runs_and_ends_with_its_exit_code() -> None:
    session = scheduled("batch")
    (kernel,) = session.kernels.values()
    session.observe(kernel.kernel_id, KernelState.CREATED, None, "", T0)
    assert session.status is SessionStatus.PREPARING
    session.observe(kernel.kernel_id, KernelState.STARTED, None, "", T0)
    assert session.status is SessionStatus.RUNNING
    session.observe(kernel.kernel_id, KernelState.EXITED, 3, "", T0 + timedelta(seconds=9))
    assert (session.status, session.exit_code, session.result) == (
        SessionStatus.TERMINATED,
        3,
        "failure",
    )
    replayed = Session.replay(session.collect_events())
    assert (replayed.status, replayed.exit_code, replayed.result) == (
        SessionStatus.TERMINATED,
        3,
        "failure",
    )


def test_a_cluster_session_runs_only_when_every_kernel_started() -> None:
    session = scheduled("interactive", kernels=3)
    kernels = sorted(session.kernels.values(), key=lambda k: k.index)
    for kernel in kernels[:2]:
        session.observe(kernel.kernel_id, KernelState.STARTED, None, "", T0)
    assert session.status is SessionStatus.PREPARING
    session.observe(kernels[2].kernel_id, KernelState.STARTED, None, "", T0)
    assert session.status is SessionStatus.RUNNING
    others = session.observe(kernels[1].kernel_id, KernelState.EXITED, 1, "", T0)
    assert session.status is SessionStatus.TERMINATING
    assert {k.index for k in others} == {0, 2}


def test_an_observation_that_moves_the_session_travels_inside_the_transition() -> None:
    session = scheduled("interactive", kernels=2)
    first, second = sorted(session.kernels.values(), key=lambda k: k.index)
    session.collect_events()

    session.observe(first.kernel_id, KernelState.CREATED, None, "", T0)
    session.observe(first.kernel_id, KernelState.STARTED, None, "", T0)
    session.observe(second.kernel_id, KernelState.STARTED, None, "", T0)

    events = session.collect_events()
    assert [type(e).__name__ for e in events] == [
        "SessionPreparing",
        "KernelObserved",
        "SessionRunning",
    ]
    preparing, observed, running = events
    assert isinstance(preparing, SessionPreparing) and isinstance(running, SessionRunning)
    assert preparing.observed == KernelObservation(kernel_id=first.kernel_id, state="created")
    assert isinstance(observed, KernelObserved)
    assert (observed.kernel_id, observed.state) == (first.kernel_id, "started")
    assert running.observed == KernelObservation(kernel_id=second.kernel_id, state="started")
    assert {k.state for k in session.kernels.values()} == {KernelState.STARTED}


def test_a_start_seen_before_any_creation_prepares_and_runs_with_one_observation() -> None:
    session = scheduled("batch")
    (kernel,) = session.kernels.values()
    session.collect_events()

    session.observe(kernel.kernel_id, KernelState.STARTED, None, "", T0)

    preparing, running = session.collect_events()
    assert isinstance(preparing, SessionPreparing) and isinstance(running, SessionRunning)
    assert preparing.observed is not None and preparing.observed.state == "started"
    assert running.observed is None
    assert session.kernels[kernel.kernel_id].state is KernelState.STARTED


def test_a_version_1_transition_reads_as_one_without_an_observation() -> None:
    session = scheduled("batch")
    payload = msgspec.json.encode(
        {
            "originator_id": str(session.id),
            "originator_version": 3,
            "timestamp": T0.isoformat(),
            "reason": "first kernel is being created",
        }
    )
    event = codec.decode("session.SessionPreparing@1", payload)
    assert isinstance(event, SessionPreparing)
    assert (event.reason, event.observed) == ("first kernel is being created", None)


def test_destroy_cancels_while_pending_and_stops_while_running() -> None:
    pending = requested_session(at=T0)
    assert pending.destroy("bye", T0) == []
    assert pending.status is SessionStatus.CANCELLED
    running = scheduled("interactive")
    (kernel,) = running.kernels.values()
    running.observe(kernel.kernel_id, KernelState.STARTED, None, "", T0)
    assert [k.kernel_id for k in running.destroy("bye", T0)] == [kernel.kernel_id]
    assert running.status is SessionStatus.TERMINATING
    running.observe(kernel.kernel_id, KernelState.EXITED, 137, "terminated", T0)
    assert (running.status, running.status_reason) == (SessionStatus.TERMINATED, "bye")


def test_a_failed_kernel_puts_the_session_in_error() -> None:
    session = scheduled("batch")
    (kernel,) = session.kernels.values()
    session.observe(kernel.kernel_id, KernelState.FAILED, None, "image not found", T0)
    assert (session.status, session.status_reason) == (SessionStatus.ERROR, "image not found")


def test_ended_sessions_refuse_commands_and_record_nothing() -> None:
    session = requested_session(at=T0)
    session.cancel("x", T0)
    session.collect_events()
    with pytest.raises(SessionStateError):
        session.destroy("again", T0)
    with pytest.raises(SessionStateError):
        session.fail("late", T0)
    assert session.collect_events() == []


def test_observations_of_unknown_or_gone_kernels_are_ignored() -> None:
    session = scheduled("batch")
    (kernel,) = session.kernels.values()
    session.collect_events()
    assert session.observe(uuid4(), KernelState.STARTED, None, "", T0) == []
    session.observe(kernel.kernel_id, KernelState.EXITED, 0, "", T0)
    session.collect_events()
    session.observe(kernel.kernel_id, KernelState.STARTED, None, "", T0)
    assert session.collect_events() == []


def test_agent_loss_requeues_a_batch_session_that_asks_for_it() -> None:
    session = requested_session(
        session_type="batch", startup_command="run", requeue_on_agent_loss=True, at=T0
    )
    agent = uuid4()
    session.schedule(
        [KernelAssignment(index=0, kernel_id=uuid4(), agent_id=agent, slots={"cpu": "1"})], T0
    )
    requeued, others = session.agent_lost(agent, T0)
    assert requeued and others == []
    assert session.status is SessionStatus.PENDING and session.kernels == {}
