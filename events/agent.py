"""Events of the ``agent`` aggregate (AgentNode): one node and what it should run.

Agent-directed decisions live here, so each agent consumes only
``berth.ev.agent.<its-id>.>``; the aggregate is also the agent's desired state.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

import msgspec

from events.base import DomainEvent
from events.session import Mount


class _AgentEvent(DomainEvent, frozen=True, kw_only=True):
    kind: ClassVar[str] = "agent"


class AgentRegistered(_AgentEvent, frozen=True, kw_only=True):
    name: str
    resource_group: str
    architecture: str
    capacity: dict[str, str]
    images: list[str] = msgspec.field(default_factory=list)
    version: str = ""
    #: a simulated agent says so, and every view shows it
    simulated: bool = False


class AgentUpdated(_AgentEvent, frozen=True, kw_only=True):
    """Re-registration with changed capacity, images or version."""

    capacity: dict[str, str]
    images: list[str]
    version: str


class KernelAssigned(_AgentEvent, frozen=True, kw_only=True):
    session_id: UUID
    kernel_id: UUID
    kernel_index: int
    session_type: str
    image: str
    slots: dict[str, str]
    environ: dict[str, str] = msgspec.field(default_factory=dict)
    mounts: list[Mount] = msgspec.field(default_factory=list)
    startup_command: str | None = None
    batch_timeout: float | None = None


class KernelTerminationRequested(_AgentEvent, frozen=True, kw_only=True):
    session_id: UUID
    kernel_id: UUID
    reason: str


class KernelReleased(_AgentEvent, frozen=True, kw_only=True):
    """The kernel is gone from the node; its slots are free again."""

    session_id: UUID
    kernel_id: UUID
    reason: str


class AgentLost(_AgentEvent, frozen=True, kw_only=True):
    reason: str


class AgentRecovered(_AgentEvent, frozen=True, kw_only=True):
    reason: str = "heartbeat resumed"


class AgentDecommissioned(_AgentEvent, frozen=True, kw_only=True):
    reason: str
