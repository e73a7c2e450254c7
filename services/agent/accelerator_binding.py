"""The node's accelerator plugins bound to its kernels: the supervisor's ``AcceleratorBinder``.

Discovers every plugin's devices once at start, announces their slots, allocates
devices to kernels (exclusively, or by share; never one device to two kernels
beyond its capacity), turns an allocation into the container's device files,
environment and mounts, and restores allocations from container labels after a
restart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID

from services.agent.accelerators.allocator import AllocationError, DeviceAllocator
from services.agent.accelerators.plugin import (
    AcceleratorPlugin,
    Allocation,
    ContainerDevices,
    Device,
    LabelError,
)
from services.agent.container_spec import Accelerators, DeviceMount
from services.agent.ports import AllocationRefused

log = logging.getLogger("berth.agent")


class PluginAccelerators:
    def __init__(self, plugins: Sequence[AcceleratorPlugin]) -> None:
        self._plugins = {plugin.key: plugin for plugin in plugins}
        self._devices: dict[str, list[Device]] = {
            key: plugin.discover() for key, plugin in self._plugins.items()
        }
        self._allocator = DeviceAllocator(d for found in self._devices.values() for d in found)
        for key, found in self._devices.items():
            log.info("accelerator plugin %s: %d device(s)", key, len(found))

    def slots(self) -> dict[str, Decimal]:
        offered: dict[str, Decimal] = {}
        for key, plugin in self._plugins.items():
            offered.update(plugin.slots(self._devices[key]))
        return offered

    def allocate(self, kernel_id: UUID, slots: dict[str, str]) -> Accelerators:
        try:
            allocation = self._allocator.allocate(str(kernel_id), slots)
        except AllocationError as exc:
            raise AllocationRefused(f"accelerators: {exc}") from None
        return self._options(allocation)

    def _options(self, allocation: Allocation) -> Accelerators:
        if not allocation:
            return Accelerators()
        parts = [
            plugin.container_options(allocation.for_plugin(key))
            for key, plugin in self._plugins.items()
            if allocation.for_plugin(key)
        ]
        combined = ContainerDevices.combine(parts)
        return Accelerators(
            devices=[
                DeviceMount(d.host_path, d.container_path, d.permissions) for d in combined.devices
            ],
            environ=dict(combined.environment),
            mounts=[(m.source, m.target, m.read_only) for m in combined.mounts],
            label=allocation.to_label(),
        )

    def restore(self, kernel_id: UUID, label: str) -> None:
        if not label:
            return
        try:
            self._allocator.restore(str(kernel_id), Allocation.from_label(label))
        except (AllocationError, LabelError) as exc:
            log.warning("kernel %s: its accelerators cannot be restored: %s", kernel_id, exc)

    def release(self, kernel_id: UUID) -> None:
        self._allocator.release(str(kernel_id))

    def usage(self, kernel_id: UUID) -> dict[str, dict[str, float]]:
        allocation = self._allocator.allocation_of(str(kernel_id))
        if not allocation:
            return {}
        held = set(allocation.device_ids())
        figures: dict[str, dict[str, float]] = {}
        for key, plugin in self._plugins.items():
            mine = [d for d in self._devices[key] if d.id in held]
            if mine:
                for device_id, usage in plugin.utilisation(mine).items():
                    figures[device_id] = usage.telemetry()
        return figures
