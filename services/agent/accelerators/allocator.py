"""Which kernel holds which accelerator: exclusive devices and packed shares, never twice.

The scheduler counts ``<key>.device`` and ``<key>.shares`` per agent; this allocator picks the
actual devices on the node. A device is in one of three states: free, given whole to one kernel,
or shared (fractions held by one or more kernels, summing to no more than its share capacity).
A device given whole is never shared and a shared device is never given whole, so a kernel that
asked for a whole GPU never finds another program on it.

Placement rules, chosen to be predictable:

- whole devices: the free devices of the key, lowest index first;
- shares that fit on one device: the shareable device with the *least* room that still fits
  (best fit, so large holes stay open for large requests), lowest index on ties;
- shares larger than any one device (``1.5`` of devices holding ``1``): spread over the devices
  with the most room first, so the request uses as few devices as possible.

Arithmetic is exact (``Decimal`` with inexact results trapped): releasing what was allocated
always returns a device to exactly where it was.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from decimal import Context, Decimal, Inexact, InvalidOperation, localcontext

from services.agent.accelerators.plugin import (
    DEVICE_SLOT,
    SHARES_SLOT,
    Allocation,
    Device,
    DeviceGrant,
    canonical,
    device_order,
)

SlotAmount = Decimal | int | str

_ZERO = Decimal(0)
# Amounts are limited to _PLACES decimal places and capacities below _MOST, so every sum and
# difference fits in 60 digits and stays exact; an operation that would round raises instead.
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation])
_PLACES = 20
_MOST = Decimal(10) ** 30


def _too_precise(amount: Decimal) -> bool:
    # Counted from the digits themselves: normalize() would round under a context first.
    _, digits, exponent = amount.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return int(exponent) + trailing_zeros < -_PLACES


def _grant_order(grant: DeviceGrant) -> tuple[str, int, str]:
    return device_order(grant.device_id)


class AllocationError(Exception):
    """A request (or a restore) the node's devices cannot satisfy; the message says why."""


def _amount(name: str, value: SlotAmount) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise AllocationError(f"{name}: amount must be a number, not {type(value).__name__}")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except ArithmeticError:
        raise AllocationError(f"{name}: {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise AllocationError(f"{name}: must be a finite, non-negative number (got {value!r})")
    if name.endswith(f".{DEVICE_SLOT}") and amount != amount.to_integral_value():
        raise AllocationError(f"{name}: must be a whole number of devices (got {value!r})")
    if _too_precise(amount) or amount >= _MOST:
        raise AllocationError(f"{name}: {value!r} is too precise or too large to add exactly")
    return amount


def accelerator_requests(slots: Mapping[str, SlotAmount]) -> dict[tuple[str, str], Decimal]:
    """``{"cuda.device": "2", "cpu": "1"}`` -> ``{("cuda", "device"): Decimal(2)}``.

    Slots without a plugin prefix (``cpu``, ``mem``) are not the allocator's and are skipped,
    as are zero amounts.
    """
    requests: dict[tuple[str, str], Decimal] = {}
    for name, value in slots.items():
        key, dot, kind = name.partition(".")
        if not dot:
            continue
        if kind not in (DEVICE_SLOT, SHARES_SLOT):
            raise AllocationError(
                f"{name}: unknown accelerator slot (expected <key>.device or <key>.shares)"
            )
        amount = _amount(name, value)
        if amount:
            requests[(key, kind)] = amount
    return requests


class DeviceAllocator:
    """The devices of every plugin on one node and the kernels holding them. Thread-safe."""

    def __init__(self, devices: Iterable[Device]) -> None:
        self._devices: dict[str, Device] = {}
        for device in sorted(devices, key=lambda d: device_order(d.id)):
            if device.id in self._devices:
                raise ValueError(f"device {device.id} was discovered twice")
            if _too_precise(device.shares) or device.shares >= _MOST:
                raise ValueError(f"device {device.id}: shares too precise or too large")
            self._devices[device.id] = device
        self._lock = threading.Lock()
        self._whole: dict[str, str] = {}  # device id -> kernel id
        self._shared: dict[str, dict[str, Decimal]] = {}  # device id -> kernel id -> shares
        self._kernels: dict[str, Allocation] = {}

    @property
    def devices(self) -> tuple[Device, ...]:
        return tuple(self._devices.values())

    def allocate(self, kernel_id: str, slots: Mapping[str, SlotAmount]) -> Allocation:
        """Choose devices for a kernel's accelerator slots, all or nothing.

        Raises ``AllocationError`` when the kernel already holds devices or the request does
        not fit; nothing changes then. A request without accelerator slots gets an empty
        allocation, which is not recorded.
        """
        requests = accelerator_requests(slots)
        with self._lock, localcontext(_EXACT):
            if kernel_id in self._kernels:
                raise AllocationError(f"kernel {kernel_id} already holds accelerators")
            grants = self._plan(requests)
            allocation = Allocation(tuple(sorted(grants, key=_grant_order)))
            if allocation:
                self._hold(kernel_id, allocation)
            return allocation

    def restore(self, kernel_id: str, allocation: Allocation) -> Allocation:
        """Take back what a kernel held before the agent restarted (read from its label).

        All or nothing: a device that is unknown now, already taken, or (for shares) no longer
        shareable or too full raises ``AllocationError``. Restoring the same allocation twice is
        harmless. Returns the allocation as held (whole grants carry the device's capacity).
        """
        with self._lock, localcontext(_EXACT):
            ids = allocation.device_ids()
            if len(set(ids)) != len(ids):
                raise AllocationError(f"kernel {kernel_id}: a device appears twice")
            grants = sorted(map(self._checked, allocation.grants), key=_grant_order)
            normal = Allocation(tuple(grants))
            held = self._kernels.get(kernel_id)
            if held is not None:
                if held == normal:
                    return held
                raise AllocationError(f"kernel {kernel_id} already holds other accelerators")
            self._check_room(normal.grants)
            if normal:
                self._hold(kernel_id, normal)
            return normal

    def release(self, kernel_id: str) -> Allocation | None:
        """Give a kernel's devices back; releasing twice (or an unknown kernel) does nothing."""
        with self._lock, localcontext(_EXACT):
            allocation = self._kernels.pop(kernel_id, None)
            if allocation is None:
                return None
            for grant in allocation.grants:
                if grant.whole:
                    del self._whole[grant.device_id]
                else:
                    holders = self._shared[grant.device_id]
                    del holders[kernel_id]
                    if not holders:
                        del self._shared[grant.device_id]
            return allocation

    def allocation_of(self, kernel_id: str) -> Allocation | None:
        with self._lock:
            return self._kernels.get(kernel_id)

    def allocations(self) -> dict[str, Allocation]:
        """Every kernel holding devices, by kernel id."""
        with self._lock:
            return dict(self._kernels)

    def available(self) -> dict[str, Decimal]:
        """What is still free: ``<key>.device`` (untouched devices) and ``<key>.shares`` (room
        on shareable devices not given whole). Zero amounts are left out."""
        free: dict[str, Decimal] = {}
        with self._lock, localcontext(_EXACT):
            for device in self._devices.values():
                if self._is_free(device.id):
                    name = f"{device.key}.{DEVICE_SLOT}"
                    free[name] = free.get(name, _ZERO) + 1
                if device.shareable and device.id not in self._whole:
                    name = f"{device.key}.{SHARES_SLOT}"
                    free[name] = free.get(name, _ZERO) + self._room(device)
        return {name: amount for name, amount in free.items() if amount}

    # -- decisions (called with the lock held) --------------------------------------------

    def _plan(self, requests: Mapping[tuple[str, str], Decimal]) -> list[DeviceGrant]:
        grants: list[DeviceGrant] = []
        # Whole devices first, so shares of the same request never land on them.
        for (key, kind), amount in sorted(requests.items(), key=lambda r: r[0][1] != DEVICE_SLOT):
            mine = [d for d in self._devices.values() if d.key == key]
            if not mine:
                raise AllocationError(f"{key}.{kind}: this node has no {key} devices")
            taken = {g.device_id for g in grants}
            if kind == DEVICE_SLOT:
                grants += self._plan_whole(key, int(amount), mine)
            else:
                grants += self._plan_shares(key, amount, [d for d in mine if d.id not in taken])
        return grants

    def _plan_whole(self, key: str, count: int, devices: list[Device]) -> list[DeviceGrant]:
        free = [d for d in devices if self._is_free(d.id)]
        if len(free) < count:
            raise AllocationError(
                f"{key}.{DEVICE_SLOT}: asked for {count}, {len(free)} of {len(devices)} free"
            )
        return [DeviceGrant(d.id, d.shares, whole=True) for d in free[:count]]

    def _plan_shares(self, key: str, amount: Decimal, devices: list[Device]) -> list[DeviceGrant]:
        name = f"{key}.{SHARES_SLOT}"
        shareable = [d for d in devices if d.shareable]
        if not shareable:
            raise AllocationError(f"{name}: no {key} device here may be shared")
        open_ = [(self._room(d), d) for d in shareable if d.id not in self._whole]
        open_ = [(room, d) for room, d in open_ if room > 0]
        fits = [(room, d) for room, d in open_ if room >= amount]
        if fits:
            _, best = min(fits, key=lambda rd: (rd[0], device_order(rd[1].id)))
            return [DeviceGrant(best.id, amount, whole=False)]
        total = sum((room for room, _ in open_), _ZERO)
        if amount <= max(d.shares for d in shareable) or total < amount:
            raise AllocationError(
                f"{name}: asked for {canonical(amount)}, "
                + (
                    f"no single device has that much room ({canonical(total)} free in all)"
                    if total >= amount
                    else f"{canonical(total)} free"
                )
            )
        grants: list[DeviceGrant] = []
        left = amount
        for room, device in sorted(open_, key=lambda rd: (-rd[0], device_order(rd[1].id))):
            part = min(room, left)
            grants.append(DeviceGrant(device.id, part, whole=False))
            left -= part
            if not left:
                break
        return grants

    def _checked(self, grant: DeviceGrant) -> DeviceGrant:
        device = self._devices.get(grant.device_id)
        if device is None:
            raise AllocationError(f"{grant.device_id}: no such device on this node now")
        if grant.whole:
            return DeviceGrant(device.id, device.shares, whole=True)
        if not device.shareable:
            raise AllocationError(f"{device.id}: held as shares but may not be shared now")
        if not grant.amount.is_finite() or grant.amount <= 0 or _too_precise(grant.amount):
            raise AllocationError(f"{device.id}: share amount must be positive and exact")
        return grant

    def _check_room(self, grants: Iterable[DeviceGrant]) -> None:
        for grant in grants:
            device = self._devices[grant.device_id]
            if grant.whole and not self._is_free(device.id):
                raise AllocationError(f"{device.id}: already in use, cannot be held whole")
            if not grant.whole:
                if device.id in self._whole:
                    raise AllocationError(f"{device.id}: held whole by another kernel")
                if self._room(device) < grant.amount:
                    raise AllocationError(
                        f"{device.id}: {canonical(grant.amount)} shares do not fit in the "
                        f"{canonical(self._room(device))} left"
                    )

    # -- state (called with the lock held) ------------------------------------------------

    def _is_free(self, device_id: str) -> bool:
        return device_id not in self._whole and device_id not in self._shared

    def _room(self, device: Device) -> Decimal:
        return device.shares - sum(self._shared.get(device.id, {}).values(), _ZERO)

    def _hold(self, kernel_id: str, allocation: Allocation) -> None:
        for grant in allocation.grants:
            if grant.whole:
                self._whole[grant.device_id] = kernel_id
            else:
                self._shared.setdefault(grant.device_id, {})[kernel_id] = grant.amount
        self._kernels[kernel_id] = allocation
