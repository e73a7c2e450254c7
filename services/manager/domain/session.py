"""The Session aggregate: one compute session's lifecycle, from request to its end.

PENDING → SCHEDULED → PREPARING → RUNNING → TERMINATING → TERMINATED, plus ERROR
and CANCELLED. The session learns about its containers only from its agents'
observations, and answers each with at most one transition. An observation that
moves the session to PREPARING or RUNNING is carried by that transition's event
(``observed``); any other is recorded as ``KernelObserved``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID, uuid5

import msgspec

from events.base import DomainEvent
from events.request_ids import request_time_ms, time_ordered
from events.session import (
    KernelAssignment,
    KernelObservation,
    KernelObserved,
    KernelSpec,
    Mount,
    SessionCancelled,
    SessionErrored,
    SessionPreparing,
    SessionRequested,
    SessionRequeued,
    SessionRunning,
    SessionScheduled,
    SessionTerminated,
    SessionTerminating,
)
from services.manager.domain.aggregate import Aggregate

SESSION_NAMESPACE = UUID("6f1c3d2e-6a53-4c07-9d3e-2f1b8a0c4e11")


class SessionStatus(StrEnum):
    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"
    PREPARING = "PREPARING"
    RUNNING = "RUNNING"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


FINAL = frozenset({SessionStatus.TERMINATED, SessionStatus.ERROR, SessionStatus.CANCELLED})
LIVE = frozenset(
    {
        SessionStatus.SCHEDULED,
        SessionStatus.PREPARING,
        SessionStatus.RUNNING,
        SessionStatus.TERMINATING,
    }
)


class KernelState(StrEnum):
    ASSIGNED = "assigned"
    CREATED = "created"
    STARTED = "started"
    EXITED = "exited"
    FAILED = "failed"


GONE = frozenset({KernelState.EXITED, KernelState.FAILED})


class SessionStateError(Exception):
    """A command that the session's current state does not allow."""


def session_id_for(access_key: str, request_id: str) -> UUID:
    """Deterministic, so a repeated request finds the session it already created.

    From a UUIDv7 request id (what Berth's clients send) the id is a UUIDv8 that
    starts with the request's millisecond, so session ids sort by request time
    (:mod:`events.request_ids` says why); the other 74 bits are the UUIDv5's of the
    same name. Any other request id gives that UUIDv5 itself.
    """
    named = uuid5(SESSION_NAMESPACE, f"{access_key}\x00{request_id}")
    ms = request_time_ms(request_id)
    return named if ms is None else time_ordered(ms, named.int, 8)


@dataclass
class Kernel:
    index: int
    kernel_id: UUID
    agent_id: UUID
    slots: dict[str, str]
    state: KernelState = KernelState.ASSIGNED
    exit_code: int | None = None


class Session(Aggregate):
    kind: ClassVar[str] = "session"

    def _init_state(self) -> None:
        self.status = SessionStatus.PENDING
        self.status_reason = ""
        self.spec: SessionRequested | None = None
        self.kernels: dict[UUID, Kernel] = {}
        self.exit_code: int | None = None
        self.result = "undefined"
        self.running_since: datetime | None = None

    # -- identity and request ---------------------------------------------------------

    @property
    def requested(self) -> SessionRequested:
        assert self.spec is not None
        return self.spec

    @property
    def session_type(self) -> str:
        return self.requested.session_type

    @property
    def access_key(self) -> str:
        return self.requested.access_key

    @classmethod
    def request(
        cls,
        *,
        name: str,
        session_type: str,
        image: str,
        architecture: str,
        kernels: list[KernelSpec],
        environ: dict[str, str],
        mounts: list[Mount],
        startup_command: str | None,
        batch_timeout: float | None,
        priority: int,
        depends_on: list[UUID],
        starts_at: datetime | None,
        resource_group: str,
        designated_agent: UUID | None,
        requeue_on_agent_loss: bool,
        access_key: str,
        user_id: str,
        project: str,
        domain: str,
        request_id: str,
        at: datetime,
    ) -> Session:
        session = cls(session_id_for(access_key, request_id))
        session._init_state()
        session._record(
            SessionRequested,
            at,
            name=name,
            session_type=session_type,
            image=image,
            architecture=architecture,
            kernels=kernels,
            environ=environ,
            mounts=mounts,
            startup_command=startup_command,
            batch_timeout=batch_timeout,
            priority=priority,
            depends_on=depends_on,
            starts_at=starts_at,
            resource_group=resource_group,
            designated_agent=designated_agent,
            requeue_on_agent_loss=requeue_on_agent_loss,
            access_key=access_key,
            user_id=user_id,
            project=project,
            domain=domain,
            request_id=request_id,
        )
        return session

    # -- decisions ----------------------------------------------------------------------

    def schedule(self, assignments: list[KernelAssignment], at: datetime) -> None:
        if self.status is not SessionStatus.PENDING:
            raise SessionStateError(f"session {self.id} is {self.status}, not PENDING")
        if len(assignments) != len(self.requested.kernels):
            raise SessionStateError("a placement must cover every kernel of the session")
        self._record(SessionScheduled, at, assignments=assignments)

    def cancel(self, reason: str, at: datetime) -> None:
        if self.status is not SessionStatus.PENDING:
            raise SessionStateError(f"session {self.id} is {self.status}, not PENDING")
        self._record(SessionCancelled, at, reason=reason)

    def fail(self, reason: str, at: datetime) -> None:
        if self.status in FINAL:
            raise SessionStateError(f"session {self.id} has already ended ({self.status})")
        self._record(SessionErrored, at, reason=reason)

    def destroy(self, reason: str, at: datetime) -> list[Kernel]:
        """Cancel while pending, stop while live; returns the kernels to stop."""
        if self.status is SessionStatus.PENDING:
            self._record(SessionCancelled, at, reason=reason)
            return []
        if self.status in FINAL:
            raise SessionStateError(f"session {self.id} has already ended ({self.status})")
        if self.status is not SessionStatus.TERMINATING:
            self._record(SessionTerminating, at, reason=reason)
        return self.live_kernels()

    def live_kernels(self) -> list[Kernel]:
        return [k for k in self.kernels.values() if k.state not in GONE]

    def observe(
        self, kernel_id: UUID, state: KernelState, exit_code: int | None, detail: str, at: datetime
    ) -> list[Kernel]:
        """Ingest one observation of a kernel; returns other kernels that must now stop."""
        kernel = self.kernels.get(kernel_id)
        if kernel is None or kernel.state in GONE:
            return []  # about an earlier placement, or already known to be gone
        if kernel.state is state:
            return []
        observation = KernelObservation(
            kernel_id=kernel_id, state=str(state), exit_code=exit_code, detail=detail
        )
        if state is KernelState.CREATED and self.status is SessionStatus.SCHEDULED:
            self._record(SessionPreparing, at, observed=observation)
            return []
        if state is KernelState.STARTED and self.status in (
            SessionStatus.SCHEDULED,
            SessionStatus.PREPARING,
        ):
            pending: KernelObservation | None = observation
            if self.status is SessionStatus.SCHEDULED:
                self._record(SessionPreparing, at, observed=observation)
                pending = None
            if all(
                k.state is KernelState.STARTED or k.kernel_id == kernel_id
                for k in self.kernels.values()
            ):
                self._record(SessionRunning, at, observed=pending)
            elif pending is not None:
                self._record(KernelObserved, at, **msgspec.structs.asdict(pending))
            return []
        self._record(KernelObserved, at, **msgspec.structs.asdict(observation))
        if state in GONE:
            return self._after_kernel_gone(kernel, state, detail, at)
        return []

    def _after_kernel_gone(
        self, kernel: Kernel, state: KernelState, detail: str, at: datetime
    ) -> list[Kernel]:
        remaining = self.live_kernels()
        if state is KernelState.FAILED and self.status not in FINAL:
            self._record(SessionErrored, at, reason=detail or f"kernel {kernel.index} failed")
            return remaining
        if remaining:
            if self.status not in FINAL and self.status is not SessionStatus.TERMINATING:
                self._record(SessionTerminating, at, reason=f"kernel {kernel.index} exited")
            return remaining
        if self.status in FINAL:
            return []
        main = min(self.kernels.values(), key=lambda k: k.index)
        exit_code = main.exit_code
        terminating = self.status is SessionStatus.TERMINATING
        reason = self.status_reason if terminating else (detail or "exited")
        if self.session_type == "batch":
            result = "success" if exit_code == 0 else "failure"
        else:
            result = "undefined"
        self._record(SessionTerminated, at, reason=reason, exit_code=exit_code, result=result)
        return []

    def agent_lost(self, agent_id: UUID, at: datetime) -> tuple[bool, list[Kernel]]:
        """The agent holding (some of) this session is gone. Returns (requeued, kernels
        on other agents to stop)."""
        if self.status in FINAL or not any(k.agent_id == agent_id for k in self.kernels.values()):
            return False, []
        others = [k for k in self.live_kernels() if k.agent_id != agent_id]
        if self.session_type == "batch" and self.requested.requeue_on_agent_loss and not others:
            self._record(SessionRequeued, at, reason=f"agent {agent_id} was lost")
            return True, []
        self._record(SessionErrored, at, reason=f"agent {agent_id} was lost")
        return False, others

    # -- state --------------------------------------------------------------------------

    def apply(self, event: DomainEvent) -> None:
        match event:
            case SessionRequested():
                self.spec = event
                self._status(SessionStatus.PENDING, "requested")
            case SessionScheduled():
                self.kernels = {
                    a.kernel_id: Kernel(a.index, a.kernel_id, a.agent_id, dict(a.slots))
                    for a in event.assignments
                }
                self._status(SessionStatus.SCHEDULED, event.reason)
            case KernelObserved():
                self._observed(event.kernel_id, event.state, event.exit_code)
            case SessionPreparing():
                if (seen := event.observed) is not None:
                    self._observed(seen.kernel_id, seen.state, seen.exit_code)
                self._status(SessionStatus.PREPARING, event.reason)
            case SessionRunning():
                if (seen := event.observed) is not None:
                    self._observed(seen.kernel_id, seen.state, seen.exit_code)
                self.running_since = event.timestamp
                self._status(SessionStatus.RUNNING, event.reason)
            case SessionTerminating():
                self._status(SessionStatus.TERMINATING, event.reason)
            case SessionTerminated():
                self.exit_code = event.exit_code
                self.result = event.result
                self._status(SessionStatus.TERMINATED, event.reason)
            case SessionErrored():
                self.result = "failure"
                self._status(SessionStatus.ERROR, event.reason)
            case SessionCancelled():
                self._status(SessionStatus.CANCELLED, event.reason)
            case SessionRequeued():
                self.kernels = {}
                self._status(SessionStatus.PENDING, event.reason)
            case _:
                raise TypeError(f"Session cannot apply {type(event).__name__}")

    def _observed(self, kernel_id: UUID, state: str, exit_code: int | None) -> None:
        kernel = self.kernels[kernel_id]
        kernel.state = KernelState(state)
        kernel.exit_code = exit_code

    def _status(self, status: SessionStatus, reason: str) -> None:
        self.status = status
        self.status_reason = reason
