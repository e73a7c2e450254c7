"""What this node should run: its ``AgentNode`` aggregate's decisions, folded in order.

The agent rebuilds this from its own subject on the event stream at start (the
aggregate's history), then keeps it current from the same subject. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from events.agent import KernelAssigned, KernelReleased, KernelTerminationRequested
from events.base import DomainEvent


@dataclass
class DesiredKernel:
    assignment: KernelAssigned
    #: the manager asked for it to stop, with this reason ("" while it should run)
    termination: str = ""

    @property
    def kernel_id(self) -> UUID:
        return self.assignment.kernel_id

    @property
    def session_id(self) -> UUID:
        return self.assignment.session_id


@dataclass
class DesiredState:
    kernels: dict[UUID, DesiredKernel] = field(default_factory=dict)
    #: kernels the manager has released: never to be (re)created on this node
    released: set[UUID] = field(default_factory=set)

    def apply(self, event: DomainEvent) -> DesiredKernel | None:
        """Fold one decision in; returns the kernel it is about (None when not one)."""
        match event:
            case KernelAssigned():
                if event.kernel_id in self.released:
                    return None
                kernel = self.kernels.setdefault(event.kernel_id, DesiredKernel(event))
                return kernel
            case KernelTerminationRequested():
                found = self.kernels.get(event.kernel_id)
                if found is not None and not found.termination:
                    found.termination = event.reason or "termination requested"
                return found
            case KernelReleased():
                self.released.add(event.kernel_id)
                return self.kernels.pop(event.kernel_id, None)
        return None
