"""What the kernel supervisor needs from accelerators and images, as small protocols.

The Podman agent binds them to the accelerator plugins and the local image store;
unit tests bind them to fakes.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from services.agent.container_spec import Accelerators


class AllocationRefused(Exception):
    """The node cannot give a kernel what it was assigned (a device, a share)."""


class AcceleratorBinder(Protocol):
    def allocate(self, kernel_id: UUID, slots: dict[str, str]) -> Accelerators: ...

    def restore(self, kernel_id: UUID, label: str) -> None: ...

    def release(self, kernel_id: UUID) -> None: ...

    def usage(self, kernel_id: UUID) -> dict[str, dict[str, float]]: ...


class ImageStore(Protocol):
    def resolve(self, name: str) -> str | None:
        """The local reference of a session's image, or None when this node lacks it."""
        ...

    def names(self) -> list[str]:
        """The images this node offers, by Berth's short names."""
        ...

    def refresh(self) -> bool:
        """Look at the local store again; True when what it offers changed."""
        ...
