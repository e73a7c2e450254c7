"""Reconciliation: what to do so that the containers Podman has match the decisions.

Compares three views of each kernel — what the agent's aggregate says it should
run (:class:`DesiredState`), the containers Podman has with this agent's label, and
the facts this agent already reported — and plans the actions that bring them
together. Pure: the agent carries the plan out. Run at start and periodically.

The rules, per kernel:

- desired, container running: adopt it (watch it; report it started if not yet).
- desired, container created but never started: start it (or, when its termination
  was requested meanwhile, remove it and report that it never started).
- desired, container exited: report the exit with its code, then remove it.
- desired, no container, nothing reported: create it (the first time).
- desired, no container, an exit or failure reported: nothing (the manager will
  release it); a kernel is never created twice.
- desired, no container, created or started reported but no exit: the container
  vanished while nobody watched; report it failed.
- desired with a termination request, no container, no exit reported: report it
  exited ("terminated before it started").
- a container whose kernel is not desired (released, unknown): an orphan, removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from services.agent.desired import DesiredState


class Reported(StrEnum):
    CREATED = "KernelCreated"
    STARTED = "KernelStarted"
    EXITED = "KernelExited"
    FAILED = "KernelFailed"


FINISHED = frozenset({Reported.EXITED, Reported.FAILED})


@dataclass(frozen=True)
class ObservedContainer:
    container_id: str
    kernel_id: UUID | None
    running: bool
    #: exit code once it has exited (None while it runs, or when Podman does not know)
    exit_code: int | None
    #: created but never started (the agent stopped in between)
    fresh: bool = False


class Action(StrEnum):
    ADOPT = "adopt"
    START = "start"
    REPORT_EXIT = "report-exit"
    CREATE = "create"
    REPORT_VANISHED = "report-vanished"
    REPORT_NEVER_STARTED = "report-never-started"
    REMOVE_ORPHAN = "remove-orphan"


@dataclass(frozen=True)
class Step:
    action: Action
    kernel_id: UUID | None
    container_id: str = ""


def plan(
    desired: DesiredState,
    containers: list[ObservedContainer],
    reported: dict[UUID, set[Reported]],
    busy: frozenset[UUID] = frozenset(),
) -> list[Step]:
    """The steps, in a stable order. ``busy`` kernels are being handled right now
    (created, stopped) and are left alone this time."""
    steps: list[Step] = []
    by_kernel: dict[UUID, ObservedContainer] = {}
    for container in containers:
        kid = container.kernel_id
        if kid is None or kid not in desired.kernels:
            if kid not in busy:
                steps.append(Step(Action.REMOVE_ORPHAN, kid, container.container_id))
            continue
        by_kernel[kid] = container
    for kid in sorted(desired.kernels, key=str):
        if kid in busy:
            continue
        kernel = desired.kernels[kid]
        facts = reported.get(kid, set())
        found = by_kernel.get(kid)
        if found is not None:
            action = (
                Action.START
                if found.fresh
                else Action.ADOPT
                if found.running
                else Action.REPORT_EXIT
            )
            steps.append(Step(action, kid, found.container_id))
        elif facts & FINISHED:
            continue
        elif kernel.termination:
            steps.append(Step(Action.REPORT_NEVER_STARTED, kid))
        elif facts:
            steps.append(Step(Action.REPORT_VANISHED, kid))
        else:
            steps.append(Step(Action.CREATE, kid))
    return steps
