"""The accelerator plugin interface and the values that cross it.

A plugin owns one *key* (``cuda``, ``mock``, ``rocm`` …), which prefixes its device ids
(``cuda:0``) and its slots (``cuda.device`` for whole devices, ``cuda.shares`` for fractions of
devices). The agent calls it to find its devices (``discover``), to say what capacity it offers
(``slots``), to learn what a container needs to use the devices a kernel was given
(``container_options``) and to read how busy the devices are (``utilisation``). Which kernel
holds which device is not the plugin's business: ``allocator.DeviceAllocator`` decides that for
every plugin alike.

Standard library only: a plugin must load on a machine that has nothing but Python and the
vendor's own bindings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol, runtime_checkable

KEY_PATTERN = re.compile(r"[a-z][a-z0-9_-]*\Z")
DEVICE_SLOT = "device"
SHARES_SLOT = "shares"
#: the container label that records a kernel's allocation, so a restarted agent can restore it
ALLOCATION_LABEL = "io.berth.accelerators"
_LABEL_VERSION = 1


class LabelError(ValueError):
    """An ``io.berth.accelerators`` label that cannot be read back; says what is wrong."""


def check_key(key: str) -> str:
    """A plugin key as slot names accept it: lower case, starting with a letter."""
    if not KEY_PATTERN.match(key):
        raise ValueError(
            f"accelerator key {key!r} is not valid (lower-case letters, digits, '_' or '-', "
            "starting with a letter)"
        )
    return key


def key_of(device_id: str) -> str:
    """``"cuda:3"`` -> ``"cuda"``."""
    key, sep, _ = device_id.partition(":")
    if not sep:
        raise ValueError(f"device id {device_id!r} is not '<key>:<index>'")
    return key


def device_order(device_id: str) -> tuple[str, int, str]:
    """Sort key: by plugin key, then numerically by index (``cuda:2`` before ``cuda:10``)."""
    key, _, rest = device_id.partition(":")
    return (key, int(rest), "") if rest.isdigit() else (key, -1, rest)


def canonical(amount: Decimal) -> str:
    """Plain decimal notation, no exponent, no trailing zeros: ``2``, ``0.5``."""
    if amount == amount.to_integral_value():
        return str(int(amount))
    return format(amount.normalize(), "f")


@dataclass(frozen=True)
class Device:
    """One accelerator as its plugin found it."""

    #: ``<key>:<index>``, stable while the node runs (``cuda:0``)
    id: str
    index: int
    model: str
    #: device memory in bytes
    memory: int
    #: how many shares the device holds when given in fractions; a whole device is all of them
    shares: Decimal = Decimal(1)
    #: whether ``<key>.shares`` may place fractions on it (else it is only ever given whole)
    shareable: bool = True
    #: plugin-specific facts (``uuid``, ``minor``, ``pci_bus_id`` …), read-only
    attributes: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        check_key(key_of(self.id))
        if not self.shares.is_finite() or self.shares <= 0:
            raise ValueError(f"device {self.id}: shares must be a positive number")
        if self.memory < 0:
            raise ValueError(f"device {self.id}: memory must not be negative")
        # A frozen dataclass still holds a mutable dict; a read-only copy makes it truly frozen.
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))

    @property
    def key(self) -> str:
        return key_of(self.id)


@dataclass(frozen=True)
class DeviceUsage:
    """How busy a device is right now."""

    util_percent: float
    mem_used: int

    def telemetry(self) -> dict[str, float]:
        """The shape ``KernelUsage.accelerators`` carries per device."""
        return {"util_percent": self.util_percent, "mem_bytes": float(self.mem_used)}


@dataclass(frozen=True)
class DeviceGrant:
    """A device (or part of one) given to a kernel."""

    device_id: str
    #: shares of the device held; for a whole device, all of its shares
    amount: Decimal
    #: given whole (exclusive) rather than as a fraction next to other kernels
    whole: bool

    @property
    def key(self) -> str:
        return key_of(self.device_id)


@dataclass(frozen=True)
class Allocation:
    """Every device grant of one kernel, across plugins, in device-id order."""

    grants: tuple[DeviceGrant, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.grants)

    def for_plugin(self, key: str) -> Allocation:
        """The grants of one plugin: what its ``container_options`` is given."""
        return Allocation(tuple(g for g in self.grants if g.key == key))

    def device_ids(self) -> list[str]:
        return [g.device_id for g in self.grants]

    def to_label(self) -> str:
        """Compact JSON for the ``io.berth.accelerators`` container label."""
        grants = [
            {"device": g.device_id, "amount": canonical(g.amount), "whole": g.whole}
            for g in self.grants
        ]
        return json.dumps({"version": _LABEL_VERSION, "grants": grants}, separators=(",", ":"))

    @classmethod
    def from_label(cls, text: str) -> Allocation:
        """The inverse of ``to_label``; raises ``LabelError`` for anything else."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise LabelError(f"not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != _LABEL_VERSION:
            raise LabelError(f"expected an object with version {_LABEL_VERSION}")
        items = data.get("grants")
        if not isinstance(items, list):
            raise LabelError("'grants' must be a list")
        grants = [_grant_from_json(item) for item in items]
        ids = [g.device_id for g in grants]
        if len(set(ids)) != len(ids):
            raise LabelError("a device appears twice")
        return cls(tuple(sorted(grants, key=lambda g: device_order(g.device_id))))


def _grant_from_json(item: object) -> DeviceGrant:
    if not isinstance(item, dict):
        raise LabelError("each grant must be an object")
    device, amount, whole = item.get("device"), item.get("amount"), item.get("whole")
    if not isinstance(device, str) or not isinstance(amount, str) or not isinstance(whole, bool):
        raise LabelError(f"grant {item!r} needs 'device' (text), 'amount' (text), 'whole' (bool)")
    try:
        check_key(key_of(device))
        value = Decimal(amount)
    except (ValueError, ArithmeticError) as exc:
        raise LabelError(f"grant {item!r}: {exc}") from None
    if not value.is_finite() or value <= 0:
        raise LabelError(f"grant {item!r}: amount must be a positive number")
    return DeviceGrant(device, value, whole)


@dataclass(frozen=True)
class DeviceFile:
    """A device node to expose in the container."""

    host_path: str
    container_path: str
    #: cgroup device permissions: r(ead), w(rite), m(knod)
    permissions: str = "rwm"

    def spec(self) -> str:
        """``host:container:permissions``, as ``podman run --device`` reads it."""
        return f"{self.host_path}:{self.container_path}:{self.permissions}"


@dataclass(frozen=True)
class Mount:
    """A host file or folder bind-mounted into the container (driver libraries, tools)."""

    source: str
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class ContainerDevices:
    """What a container needs to use the devices of an allocation."""

    devices: tuple[DeviceFile, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict, hash=False)
    mounts: tuple[Mount, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "environment", MappingProxyType(dict(self.environment)))

    @classmethod
    def combine(cls, parts: Iterable[ContainerDevices]) -> ContainerDevices:
        """The options of several plugins for one container.

        Two plugins setting the same variable to different values is a configuration error
        (two plugins claiming one key), so it raises instead of letting one silently win.
        """
        devices: dict[str, DeviceFile] = {}
        mounts: dict[str, Mount] = {}
        environment: dict[str, str] = {}
        for part in parts:
            for device in part.devices:
                devices.setdefault(device.container_path, device)
            for mount in part.mounts:
                mounts.setdefault(mount.target, mount)
            for name, value in part.environment.items():
                if environment.setdefault(name, value) != value:
                    raise ValueError(f"accelerator plugins disagree on the variable {name}")
        return cls(tuple(devices.values()), environment, tuple(mounts.values()))


@runtime_checkable
class AcceleratorPlugin(Protocol):
    """What the agent needs from an accelerator plugin (see docs/accelerators.md)."""

    @property
    def key(self) -> str:
        """The slot prefix and device-id prefix, e.g. ``cuda``."""
        ...

    def discover(self) -> list[Device]:
        """The devices on this node; ``[]`` (with a logged reason) when there are none or the
        driver cannot be reached. Never raises."""
        ...

    def slots(self, devices: Sequence[Device]) -> dict[str, Decimal]:
        """The capacity the agent announces for these devices (see ``standard_slots``)."""
        ...

    def container_options(self, allocation: Allocation) -> ContainerDevices:
        """Device files, environment and mounts a container needs for these grants (all of
        this plugin's key)."""
        ...

    def utilisation(self, devices: Sequence[Device]) -> dict[str, DeviceUsage]:
        """Usage by device id; a device that cannot be read is left out. Never raises."""
        ...


def standard_slots(key: str, devices: Sequence[Device]) -> dict[str, Decimal]:
    """``<key>.device`` = how many devices, ``<key>.shares`` = the shares of the shareable ones.

    Zero amounts are left out, as resource slots do: a plugin with no devices offers nothing.
    """
    mine = [d for d in devices if d.key == key]
    slots: dict[str, Decimal] = {}
    if mine:
        slots[f"{key}.{DEVICE_SLOT}"] = Decimal(len(mine))
    shares = sum((d.shares for d in mine if d.shareable), Decimal(0))
    if shares:
        slots[f"{key}.{SHARES_SLOT}"] = shares
    return slots


def environment_name(key: str, suffix: str) -> str:
    """``("mock", "DEVICES")`` -> ``BERTH_MOCK_DEVICES``."""
    return f"BERTH_{key.upper().replace('-', '_')}_{suffix}"
