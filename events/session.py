"""Events of the ``session`` aggregate: a compute session's decided history.

Lifecycle: PENDING → SCHEDULED → PREPARING → RUNNING → TERMINATING → TERMINATED,
plus ERROR and CANCELLED. Every transition is one event with a reason, so the
status history of a session is its event stream.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

import msgspec

from events.base import DomainEvent


class Mount(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    source: str
    target: str
    read_only: bool = False


class KernelSpec(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What one container of the session gets (a cluster session has several)."""

    index: int
    role: str
    slots: dict[str, str]


class KernelAssignment(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    index: int
    kernel_id: UUID
    agent_id: UUID
    slots: dict[str, str]


class _SessionEvent(DomainEvent, frozen=True, kw_only=True):
    kind: ClassVar[str] = "session"


class SessionRequested(_SessionEvent, frozen=True, kw_only=True):
    name: str
    session_type: str
    image: str
    architecture: str = "x86_64"
    kernels: list[KernelSpec]
    environ: dict[str, str] = msgspec.field(default_factory=dict)
    mounts: list[Mount] = msgspec.field(default_factory=list)
    startup_command: str | None = None
    batch_timeout: float | None = None
    priority: int = 0
    depends_on: list[UUID] = msgspec.field(default_factory=list)
    starts_at: datetime | None = None
    resource_group: str
    designated_agent: UUID | None = None
    requeue_on_agent_loss: bool = False
    access_key: str
    user_id: str
    project: str
    domain: str
    request_id: str


class SessionScheduled(_SessionEvent, frozen=True, kw_only=True):
    assignments: list[KernelAssignment]
    reason: str = "placed"


class KernelObservation(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An agent's observation of one kernel: created, started, exited, failed, vanished."""

    kernel_id: UUID
    state: str
    exit_code: int | None = None
    detail: str = ""


class SessionPreparing(_SessionEvent, frozen=True, kw_only=True):
    """Version 2: carries the observation that caused it (one event instead of two)."""

    class_version: ClassVar[int] = 2

    reason: str = "first kernel is being created"
    #: the kernel observation this transition answers, ingested with it; None when no
    #: single observation caused it
    observed: KernelObservation | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["observed"] = None


class SessionRunning(_SessionEvent, frozen=True, kw_only=True):
    """Version 2: carries the observation that caused it (one event instead of two)."""

    class_version: ClassVar[int] = 2

    reason: str = "all kernels started"
    #: the kernel observation this transition answers, ingested with it
    observed: KernelObservation | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["observed"] = None


class SessionTerminating(_SessionEvent, frozen=True, kw_only=True):
    reason: str


class SessionTerminated(_SessionEvent, frozen=True, kw_only=True):
    reason: str
    exit_code: int | None = None
    #: "success", "failure" or "undefined" (interactive sessions)
    result: str = "undefined"


class SessionErrored(_SessionEvent, frozen=True, kw_only=True):
    reason: str


class SessionCancelled(_SessionEvent, frozen=True, kw_only=True):
    reason: str


class SessionRequeued(_SessionEvent, frozen=True, kw_only=True):
    """Back to PENDING (a batch session whose agent was lost, when it asked for it)."""

    reason: str


class KernelObserved(_SessionEvent, frozen=True, kw_only=True):
    """An agent's observation of one kernel (created, started, exited), ingested once.

    An observation that moves the session to PREPARING or RUNNING travels inside
    that transition (``observed``) instead.
    """

    kernel_id: UUID
    state: str
    exit_code: int | None = None
    detail: str = ""
