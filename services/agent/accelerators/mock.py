"""A pretend accelerator for tests and demos: any number of devices, of any size and kind.

Configured by JSON, given to the constructor or read from ``BERTH_MOCK_ACCELERATORS``::

    {"key": "mock", "devices": 4, "memory": "16g", "shares": 1}
    {"key": "npu", "devices": [{"memory": "32g", "shares": 4}, {"model": "small", "shares": "0.5"}]}

``devices`` is a count of identical devices or a list of per-device settings (each may set
``model``, ``memory``, ``shares``, ``shareable``; what it leaves out comes from the top level).
No device files exist: a container learns what it was given from ``BERTH_<KEY>_DEVICES``
(``mock:0,mock:2``) and ``BERTH_<KEY>_SHARES`` (``mock:0=1,mock:2=0.25``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from services.agent.accelerators.plugin import (
    Allocation,
    ContainerDevices,
    Device,
    DeviceUsage,
    canonical,
    check_key,
    environment_name,
    standard_slots,
)

SETTINGS_VARIABLE = "BERTH_MOCK_ACCELERATORS"
DEFAULTS: dict[str, Any] = {
    "key": "mock",
    "devices": 4,
    "memory": "16g",
    "shares": 1,
    "shareable": True,
    "model": "Berth Mock Accelerator",
}
_DEVICE_FIELDS = {"model", "memory", "shares", "shareable"}
_MEMORY = re.compile(r"(\d+)\s*([kmgtp]?)(?:i?b)?\Z", re.IGNORECASE)


def parse_memory(value: object) -> int:
    """Bytes from ``17179869184``, ``"16g"``, ``"16GiB"`` or ``"512m"`` (binary multiples)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _MEMORY.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"memory {value!r} is not bytes or a size like 16g")
    return int(match.group(1)) << (10 * " kmgtp".index(match.group(2).lower() or " "))


def _shares(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise ValueError(f"shares {value!r} is not a number")
    try:
        shares = Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation:
        raise ValueError(f"shares {value!r} is not a number") from None
    if not shares.is_finite() or shares <= 0:
        raise ValueError(f"shares must be a positive number, not {value!r}")
    return shares


def _settings(given: str | Mapping[str, Any] | None) -> dict[str, Any]:
    if given is None:
        given = os.environ.get(SETTINGS_VARIABLE) or {}
    if isinstance(given, str):
        try:
            given = json.loads(given)
        except ValueError as exc:
            raise ValueError(f"{SETTINGS_VARIABLE}: not JSON: {exc}") from None
    if not isinstance(given, Mapping):
        raise ValueError(f"{SETTINGS_VARIABLE}: expected a JSON object")
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"mock accelerator settings: unknown field(s) {sorted(unknown)}")
    return {**DEFAULTS, **given}


def _device(key: str, index: int, spec: Mapping[str, Any]) -> Device:
    return Device(
        id=f"{key}:{index}",
        index=index,
        model=str(spec["model"]),
        memory=parse_memory(spec["memory"]),
        shares=_shares(spec["shares"]),
        shareable=bool(spec["shareable"]),
        attributes={"uuid": f"MOCK-{key}-{index}"},
    )


class MockPlugin:
    """Presents the devices its settings describe; utilisation follows a fixed formula."""

    def __init__(self, settings: str | Mapping[str, Any] | None = None) -> None:
        config = _settings(settings)
        self._key = check_key(str(config["key"]))
        base = {name: config[name] for name in _DEVICE_FIELDS}
        layout = config["devices"]
        if isinstance(layout, int) and not isinstance(layout, bool) and layout >= 0:
            specs: list[Mapping[str, Any]] = [base] * layout
        elif isinstance(layout, list) and all(isinstance(s, Mapping) for s in layout):
            for spec in layout:
                if set(spec) - _DEVICE_FIELDS:
                    raise ValueError(f"mock device settings: unknown field(s) in {spec}")
            specs = [{**base, **spec} for spec in layout]
        else:
            raise ValueError("mock accelerator settings: 'devices' is a count or a list")
        self._devices = [_device(self._key, i, spec) for i, spec in enumerate(specs)]

    @property
    def key(self) -> str:
        return self._key

    def discover(self) -> list[Device]:
        return list(self._devices)

    def slots(self, devices: Sequence[Device]) -> dict[str, Decimal]:
        return standard_slots(self._key, devices)

    def container_options(self, allocation: Allocation) -> ContainerDevices:
        grants = allocation.for_plugin(self._key).grants
        if not grants:
            return ContainerDevices()
        return ContainerDevices(
            environment={
                environment_name(self._key, "DEVICES"): ",".join(g.device_id for g in grants),
                environment_name(self._key, "SHARES"): ",".join(
                    f"{g.device_id}={canonical(g.amount)}" for g in grants
                ),
            }
        )

    def utilisation(self, devices: Sequence[Device]) -> dict[str, DeviceUsage]:
        # Fixed per device, different between devices: tests can predict every number.
        usage: dict[str, DeviceUsage] = {}
        for device in devices:
            if device.key == self._key:
                percent = (device.index * 37 + 11) % 100
                usage[device.id] = DeviceUsage(float(percent), device.memory * percent // 100)
        return usage
