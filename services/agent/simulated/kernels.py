"""What a simulated agent reports about its kernels, and when. Pure: no I/O, no clock.

The rules a simulated kernel follows (there is no container, only a clock):

- On ``KernelAssigned`` it reports ``KernelCreated`` at once and ``KernelStarted``
  after ``start_delay`` seconds.
- A **batch** kernel then exits ``run_seconds`` later. Its exit code comes from
  its startup command: ``exit N`` (N an integer; surrounding spaces and a final
  ``;`` allowed) exits with ``N & 255``, as a shell would; any other command
  exits with 0.
- An **interactive** kernel runs until ``KernelTerminationRequested``.
- A termination request is answered at once with ``KernelExited`` (exit code
  143, as a container stopped by SIGTERM reports, ``detail="terminated"``);
  whatever that kernel still had to report is dropped.
- ``KernelReleased`` forgets the kernel.
- A *silent* agent (a node that is down) reports nothing; when it speaks again
  it reports what its kernels still owe, with their clocks started afresh.

Every fact is reported at most once per kernel (see :meth:`FleetModel.take`), so
planning it twice (after a restart, or when an agent speaks again) is harmless.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from uuid import UUID

from events.agent import KernelAssigned, KernelReleased, KernelTerminationRequested
from events.base import DomainEvent
from events.facts import AnyFact, KernelCreated, KernelExited, KernelStarted

#: what a container stopped with SIGTERM reports (128 + 15)
TERMINATED_EXIT_CODE = 143
TERMINATED_DETAIL = "terminated"

_EXIT_RE = re.compile(r"^\s*exit\s+(-?\d{1,10})\s*;?\s*$")


def exit_code_of(startup_command: str | None) -> int:
    """``exit N`` exits with N (mod 256, like a shell); anything else with 0."""
    match = _EXIT_RE.match(startup_command or "")
    return int(match[1]) & 0xFF if match else 0


class Stage(IntEnum):
    """How far a kernel's report has got; facts are reported in this order."""

    ASSIGNED = 0
    CREATED = 1
    STARTED = 2
    EXITED = 3


@dataclass(frozen=True)
class Timing:
    start_delay: float = 0.05
    run_seconds: float = 0.5


@dataclass(frozen=True)
class Due:
    """A fact to report ``after`` seconds from when it was planned."""

    after: float
    kernel_id: UUID
    stage: Stage


@dataclass
class SimulatedKernel:
    agent_id: UUID
    session_id: UUID
    kernel_id: UUID
    batch: bool
    exit_code: int
    reported: Stage = Stage.ASSIGNED
    terminating: bool = False


@dataclass
class FleetModel:
    """The kernels of every agent this process simulates."""

    timing: Timing = field(default_factory=Timing)
    agents: set[UUID] = field(default_factory=set)
    silent: set[UUID] = field(default_factory=set)
    kernels: dict[UUID, SimulatedKernel] = field(default_factory=dict)

    def add_agent(self, agent_id: UUID) -> None:
        self.agents.add(agent_id)

    def owns(self, agent_id: UUID) -> bool:
        return agent_id in self.agents

    def on_event(self, event: DomainEvent) -> list[Due]:
        """Follow one decision about an agent; returns the facts it makes due."""
        if not self.owns(event.originator_id):
            return []
        match event:
            case KernelAssigned():
                if event.kernel_id in self.kernels:
                    return []  # delivered again: already planned
                kernel = SimulatedKernel(
                    agent_id=event.originator_id,
                    session_id=event.session_id,
                    kernel_id=event.kernel_id,
                    batch=event.session_type == "batch",
                    exit_code=exit_code_of(event.startup_command),
                )
                self.kernels[kernel.kernel_id] = kernel
                return self._plan(kernel)
            case KernelTerminationRequested():
                found = self.kernels.get(event.kernel_id)
                if found is None or found.reported is Stage.EXITED:
                    return []
                found.terminating = True
                return [Due(0.0, found.kernel_id, Stage.EXITED)]
            case KernelReleased():
                self.kernels.pop(event.kernel_id, None)
        return []

    def reported(self, fact: AnyFact) -> None:
        """Remember a fact reported before (read back from the fact stream after a restart)."""
        kernel = self.kernels.get(fact.kernel_id)
        if kernel is None or kernel.agent_id != fact.agent_id:
            return
        stage = _STAGE_OF.get(type(fact), Stage.EXITED)
        kernel.reported = max(kernel.reported, stage)

    def resume(self, agent_ids: Iterable[UUID] | None = None) -> list[Due]:
        """What the kernels (of these agents, or all) still owe, with clocks started afresh."""
        chosen = None if agent_ids is None else set(agent_ids)
        due: list[Due] = []
        for kernel in self.kernels.values():
            if chosen is None or kernel.agent_id in chosen:
                due.extend(self._plan(kernel))
        return due

    def take(self, due: Due, at: datetime) -> AnyFact | None:
        """The fact to report now for ``due``, or None when it is no longer owed."""
        kernel = self.kernels.get(due.kernel_id)
        if kernel is None or kernel.agent_id in self.silent or kernel.reported >= due.stage:
            return None
        if kernel.terminating and due.stage is not Stage.EXITED:
            return None
        kernel.reported = due.stage
        agent, session, kid = kernel.agent_id, kernel.session_id, kernel.kernel_id
        if due.stage is Stage.CREATED:
            return KernelCreated(
                agent_id=agent,
                observed_at=at,
                session_id=session,
                kernel_id=kid,
                container_id="simulated",
            )
        if due.stage is Stage.STARTED:
            return KernelStarted(agent_id=agent, observed_at=at, session_id=session, kernel_id=kid)
        terminated = kernel.terminating
        return KernelExited(
            agent_id=agent,
            observed_at=at,
            session_id=session,
            kernel_id=kid,
            exit_code=TERMINATED_EXIT_CODE if terminated else kernel.exit_code,
            detail=TERMINATED_DETAIL if terminated else "",
        )

    def silence(self, agent_ids: Iterable[UUID]) -> None:
        self.silent.update(a for a in agent_ids if self.owns(a))

    def speak(self, agent_ids: Iterable[UUID]) -> list[Due]:
        """Silent agents come back; returns what their kernels still owe."""
        back = {a for a in agent_ids if a in self.silent}
        self.silent -= back
        return self.resume(back)

    def speaking(self) -> list[UUID]:
        return [a for a in self.agents if a not in self.silent]

    def _plan(self, kernel: SimulatedKernel) -> list[Due]:
        if kernel.reported is Stage.EXITED:
            return []
        if kernel.terminating:
            return [Due(0.0, kernel.kernel_id, Stage.EXITED)]
        start, run = self.timing.start_delay, self.timing.run_seconds
        steps: list[tuple[float, Stage]] = [(0.0, Stage.CREATED), (start, Stage.STARTED)]
        if kernel.batch:
            steps.append((start + run, Stage.EXITED))
        # Clocks restart from the stage already reported: a kernel that had
        # started runs its full time again, as if it were restarted.
        offset = {stage: after for after, stage in steps}.get(kernel.reported, 0.0)
        return [
            Due(max(after - offset, 0.0), kernel.kernel_id, stage)
            for after, stage in steps
            if stage > kernel.reported
        ]


_STAGE_OF: dict[type, Stage] = {
    KernelCreated: Stage.CREATED,
    KernelStarted: Stage.STARTED,
    KernelExited: Stage.EXITED,
}
