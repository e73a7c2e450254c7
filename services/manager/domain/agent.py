"""The AgentNode aggregate: one node, and the kernels it should be running.

Decisions meant for an agent are recorded here (``KernelAssigned``,
``KernelTerminationRequested``), so the agent follows only its own subject, and
this aggregate is the desired state it reconciles its containers against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import ClassVar
from uuid import UUID, uuid5

from events.agent import (
    AgentDecommissioned,
    AgentLost,
    AgentRecovered,
    AgentRegistered,
    AgentUpdated,
    KernelAssigned,
    KernelReleased,
    KernelTerminationRequested,
)
from events.base import DomainEvent
from events.session import Mount
from services.manager.domain.aggregate import Aggregate

AGENT_NAMESPACE = UUID("0b8f3f0e-2a8e-4d4e-9a55-7f0e3b7c1d21")


@lru_cache(maxsize=4096)
def agent_id_for(name: str) -> UUID:
    return uuid5(AGENT_NAMESPACE, name)


class AgentStateError(Exception):
    pass


@dataclass
class AssignedKernel:
    session_id: UUID
    kernel_id: UUID
    slots: dict[str, str]
    terminating: bool = False


class AgentNode(Aggregate):
    kind: ClassVar[str] = "agent"

    def _init_state(self) -> None:
        self.name = ""
        self.resource_group = ""
        self.architecture = ""
        self.capacity: dict[str, str] = {}
        self.images: list[str] = []
        self.agent_version = ""
        self.simulated = False
        self.lost = False
        self.decommissioned = False
        self.kernels: dict[UUID, AssignedKernel] = {}

    @classmethod
    def register(
        cls,
        *,
        name: str,
        resource_group: str,
        architecture: str,
        capacity: dict[str, str],
        images: list[str],
        version: str,
        simulated: bool,
        at: datetime,
    ) -> AgentNode:
        agent = cls(agent_id_for(name))
        agent._init_state()
        agent._record(
            AgentRegistered,
            at,
            name=name,
            resource_group=resource_group,
            architecture=architecture,
            capacity=capacity,
            images=images,
            version=version,
            simulated=simulated,
        )
        return agent

    def update(
        self, capacity: dict[str, str], images: list[str], version: str, at: datetime
    ) -> bool:
        """Record changed capacity, images or version; False when nothing changed."""
        if (capacity, sorted(images), version) == (
            self.capacity,
            sorted(self.images),
            self.agent_version,
        ):
            return False
        self._record(AgentUpdated, at, capacity=capacity, images=images, version=version)
        return True

    def assign_kernel(
        self,
        *,
        session_id: UUID,
        kernel_id: UUID,
        kernel_index: int,
        session_type: str,
        image: str,
        slots: dict[str, str],
        environ: dict[str, str],
        mounts: list[Mount],
        startup_command: str | None,
        batch_timeout: float | None,
        at: datetime,
    ) -> None:
        if self.lost or self.decommissioned:
            raise AgentStateError(f"agent {self.name} is not taking kernels")
        if kernel_id in self.kernels:
            raise AgentStateError(f"kernel {kernel_id} is already assigned to {self.name}")
        self._record(
            KernelAssigned,
            at,
            session_id=session_id,
            kernel_id=kernel_id,
            kernel_index=kernel_index,
            session_type=session_type,
            image=image,
            slots=slots,
            environ=environ,
            mounts=mounts,
            startup_command=startup_command,
            batch_timeout=batch_timeout,
        )

    def request_termination(self, kernel_id: UUID, reason: str, at: datetime) -> bool:
        kernel = self.kernels.get(kernel_id)
        if kernel is None or kernel.terminating:
            return False
        self._record(
            KernelTerminationRequested,
            at,
            session_id=kernel.session_id,
            kernel_id=kernel_id,
            reason=reason,
        )
        return True

    def release_kernel(self, kernel_id: UUID, reason: str, at: datetime) -> AssignedKernel | None:
        kernel = self.kernels.get(kernel_id)
        if kernel is None:
            return None
        self._record(
            KernelReleased, at, session_id=kernel.session_id, kernel_id=kernel_id, reason=reason
        )
        return kernel

    def mark_lost(self, reason: str, at: datetime) -> bool:
        if self.lost:
            return False
        self._record(AgentLost, at, reason=reason)
        return True

    def mark_recovered(self, at: datetime) -> bool:
        if not self.lost:
            return False
        self._record(AgentRecovered, at)
        return True

    def decommission(self, reason: str, at: datetime) -> None:
        if self.decommissioned:
            raise AgentStateError(f"agent {self.name} is already decommissioned")
        self._record(AgentDecommissioned, at, reason=reason)

    def apply(self, event: DomainEvent) -> None:
        match event:
            case AgentRegistered():
                self.name = event.name
                self.resource_group = event.resource_group
                self.architecture = event.architecture
                self.capacity = dict(event.capacity)
                self.images = list(event.images)
                self.agent_version = event.version
                self.simulated = event.simulated
            case AgentUpdated():
                self.capacity = dict(event.capacity)
                self.images = list(event.images)
                self.agent_version = event.version
            case KernelAssigned():
                self.kernels[event.kernel_id] = AssignedKernel(
                    event.session_id, event.kernel_id, dict(event.slots)
                )
            case KernelTerminationRequested():
                self.kernels[event.kernel_id].terminating = True
            case KernelReleased():
                self.kernels.pop(event.kernel_id, None)
            case AgentLost():
                self.lost = True
            case AgentRecovered():
                self.lost = False
            case AgentDecommissioned():
                self.decommissioned = True
            case _:
                raise TypeError(f"AgentNode cannot apply {type(event).__name__}")
