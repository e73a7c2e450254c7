"""NVIDIA GPUs through NVML (the ``pynvml`` module of the nvidia-ml-py package).

Each GPU is ``cuda:<NVML index>``, offered as ``cuda.device`` (whole GPUs) and, only when
``BERTH_CUDA_SHARES`` is on, also as ``cuda.shares`` (one share per GPU, fractions allowed).
Shares are a scheduling agreement: kernels sharing a GPU see all of its memory and compute.

A node without a driver, without the NVML library or without pynvml is a node without GPUs:
``discover`` logs why and returns ``[]``, and nothing here ever raises into the agent for it.
Standard library only at import time; pynvml is imported on first use.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.agent.accelerators.cuda_files import device_files, driver_mounts
from services.agent.accelerators.plugin import (
    Allocation,
    ContainerDevices,
    Device,
    DeviceUsage,
    standard_slots,
)

log = logging.getLogger(__name__)

KEY = "cuda"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    text = environ.get(name)
    if text is None:
        return default
    if text.strip().lower() in _TRUE | _FALSE:
        return text.strip().lower() in _TRUE
    raise ValueError(f"{name}={text!r}: expected true or false")


@dataclass(frozen=True)
class CudaSettings:
    #: offer ``cuda.shares`` so several kernels may hold fractions of one GPU
    shareable: bool = False
    #: mount the host's driver libraries and nvidia-smi into containers (off when the NVIDIA
    #: Container Toolkit does it instead)
    driver_mounts: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CudaSettings:
        env = os.environ if environ is None else environ
        return cls(
            shareable=_flag(env, "BERTH_CUDA_SHARES", False),
            driver_mounts=_flag(env, "BERTH_CUDA_DRIVER_MOUNTS", True),
        )


def _text(value: object) -> str:
    # pynvml returns str in current releases and bytes in older ones.
    return value.decode() if isinstance(value, bytes) else str(value)


class CudaPlugin:
    """NVIDIA GPUs on this node, as NVML reports them."""

    def __init__(
        self,
        settings: CudaSettings | None = None,
        *,
        nvml: Any | None = None,
        root: Path = Path("/"),
    ) -> None:
        self._settings = settings if settings is not None else CudaSettings.from_env()
        self._module = nvml  # tests pass a fake; None means import pynvml when first needed
        self._root = root
        self._lock = threading.Lock()
        self._ready = False
        self._reason: str | None = None
        self._devices: dict[str, Device] = {}
        self._handles: dict[str, Any] = {}

    @property
    def key(self) -> str:
        return KEY

    @property
    def unavailable_reason(self) -> str | None:
        """Why NVML could not be used at the last attempt (None when it could)."""
        return self._reason

    def discover(self) -> list[Device]:
        nvml = self._nvml()
        if nvml is None:
            return []
        devices: dict[str, Device] = {}
        handles: dict[str, Any] = {}
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except Exception as exc:  # a driver fault must not stop the agent
            log.warning("cuda: cannot count GPUs: %s", exc)
            return []
        for index in range(count):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                device = self._describe(nvml, index, handle)
            except Exception as exc:  # one broken GPU should not hide the others
                log.warning("cuda: skipping GPU %d: %s", index, exc)
                continue
            devices[device.id], handles[device.id] = device, handle
        with self._lock:
            self._devices, self._handles = devices, handles
        if not devices:
            log.info("cuda: NVML is available but reports no usable GPU")
        return list(devices.values())

    def slots(self, devices: Sequence[Device]) -> dict[str, Decimal]:
        return standard_slots(KEY, devices)

    def container_options(self, allocation: Allocation) -> ContainerDevices:
        grants = allocation.for_plugin(KEY).grants
        if not grants:
            return ContainerDevices()
        devices = [self._known(g.device_id) for g in grants]
        # The container sees only its GPUs' nodes, so CUDA numbers them 0..n-1 in PCI bus order;
        # PCI_BUS_ID makes that order explicit, and the toolkit hook (where installed) reads
        # NVIDIA_VISIBLE_DEVICES as host UUIDs.
        devices.sort(key=lambda d: d.attributes.get("pci_bus_id", ""))
        minors = [int(d.attributes["minor"]) for d in devices]
        environment = {
            "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
            "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in range(len(devices))),
            "NVIDIA_VISIBLE_DEVICES": ",".join(d.attributes["uuid"] for d in devices),
            "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
        }
        mounts = driver_mounts(self._root) if self._settings.driver_mounts else ()
        return ContainerDevices(device_files(minors, self._root), environment, mounts)

    def utilisation(self, devices: Sequence[Device]) -> dict[str, DeviceUsage]:
        nvml = self._nvml()
        if nvml is None:
            return {}
        usage: dict[str, DeviceUsage] = {}
        for device in devices:
            if device.key != KEY:
                continue
            try:
                handle = self._handle(nvml, device)
                rates = nvml.nvmlDeviceGetUtilizationRates(handle)
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            except Exception as exc:  # e.g. NOT_SUPPORTED, GPU lost: leave it out, keep going
                log.debug("cuda: no utilisation for %s: %s", device.id, exc)
                continue
            usage[device.id] = DeviceUsage(float(rates.gpu), int(memory.used))
        return usage

    def close(self) -> None:
        """Let go of NVML (the agent calls this when it stops)."""
        with self._lock:
            if self._ready and self._module is not None:
                try:
                    self._module.nvmlShutdown()
                except Exception as exc:  # shutting down: nothing left to protect
                    log.debug("cuda: nvmlShutdown failed: %s", exc)
            self._ready = False

    # -- NVML ---------------------------------------------------------------------------------

    def _nvml(self) -> Any | None:
        """The initialised NVML module, or None (with the reason logged once per change)."""
        with self._lock:
            if self._ready:
                return self._module
            try:
                if self._module is None:
                    import pynvml

                    self._module = pynvml
                self._module.nvmlInit()
            except ImportError:
                reason = "pynvml is not installed (package nvidia-ml-py)"
            except Exception as exc:  # no library, no driver, driver/library mismatch …
                reason = f"NVML unavailable: {exc}"
            else:
                self._ready, self._reason = True, None
                return self._module
            if reason != self._reason:
                log.info("cuda: no GPUs: %s", reason)
            self._reason = reason
            return None

    def _describe(self, nvml: Any, index: int, handle: Any) -> Device:
        pci = nvml.nvmlDeviceGetPciInfo(handle)
        return Device(
            id=f"{KEY}:{index}",
            index=index,
            model=_text(nvml.nvmlDeviceGetName(handle)),
            memory=int(nvml.nvmlDeviceGetMemoryInfo(handle).total),
            shares=Decimal(1),
            shareable=self._settings.shareable,
            attributes={
                "uuid": _text(nvml.nvmlDeviceGetUUID(handle)),
                "minor": str(int(nvml.nvmlDeviceGetMinorNumber(handle))),
                "pci_bus_id": _text(pci.busId),
            },
        )

    def _handle(self, nvml: Any, device: Device) -> Any:
        with self._lock:
            handle = self._handles.get(device.id)
        if handle is None:
            uuid = device.attributes.get("uuid")
            handle = (
                nvml.nvmlDeviceGetHandleByUUID(uuid)
                if uuid
                else nvml.nvmlDeviceGetHandleByIndex(device.index)
            )
        return handle

    def _known(self, device_id: str) -> Device:
        with self._lock:
            device = self._devices.get(device_id)
        if device is None:
            # Restored allocations can name GPUs before this process discovered anything.
            device = {d.id: d for d in self.discover()}.get(device_id)
        if device is None:
            raise LookupError(f"{device_id}: no such GPU on this node")
        return device
