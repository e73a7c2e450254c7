"""The CUDA plugin against the real NVML: runs only where an NVIDIA driver and GPU are present."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.agent.accelerators.allocator import DeviceAllocator
from services.agent.accelerators.cuda import CudaPlugin, CudaSettings
from services.agent.accelerators.plugin import Device


def _no_gpu_reason() -> str | None:
    try:
        import pynvml
    except ImportError:
        return "pynvml (nvidia-ml-py) is not installed"
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # no library or no driver: both mean no GPU to test
        return f"no NVIDIA driver: {exc}"
    try:
        count = pynvml.nvmlDeviceGetCount()
    finally:
        pynvml.nvmlShutdown()
    return None if count else "NVIDIA driver present but no GPU"


_NO_GPU = _no_gpu_reason()
pytestmark = pytest.mark.skipif(_NO_GPU is not None, reason=f"needs an NVIDIA GPU: {_NO_GPU}")


@pytest.fixture
def plugin() -> Iterator[CudaPlugin]:
    plugin = CudaPlugin(CudaSettings(shareable=True))
    yield plugin
    plugin.close()


@pytest.fixture
def gpus(plugin: CudaPlugin) -> list[Device]:
    devices = plugin.discover()
    assert devices, plugin.unavailable_reason
    return devices


def test_every_gpu_is_found_with_its_identity(plugin: CudaPlugin, gpus: list[Device]) -> None:
    for index, gpu in enumerate(gpus):
        assert gpu.id == f"cuda:{gpu.index}"
        assert gpu.memory > 2**30
        assert gpu.attributes["uuid"].startswith(("GPU-", "MIG-"))
        assert int(gpu.attributes["minor"]) >= 0
        assert gpu.model, f"GPU {index} has no name"
    assert plugin.slots(gpus) == {"cuda.device": len(gpus), "cuda.shares": len(gpus)}


def test_utilisation_is_within_bounds(plugin: CudaPlugin, gpus: list[Device]) -> None:
    usage = plugin.utilisation(gpus)

    assert usage, "NVML gave no utilisation for any GPU"
    for device in gpus:
        if device.id in usage:
            assert 0 <= usage[device.id].util_percent <= 100
            assert 0 <= usage[device.id].mem_used <= device.memory


def test_container_options_name_existing_device_nodes(
    plugin: CudaPlugin, gpus: list[Device]
) -> None:
    allocation = DeviceAllocator(gpus).allocate("k", {"cuda.device": "1"})

    options = plugin.container_options(allocation)

    paths = [f.host_path for f in options.devices]
    assert f"/dev/nvidia{gpus[0].attributes['minor']}" in paths
    assert "/dev/nvidiactl" in paths
    assert all(Path(p).exists() for p in paths)
    assert options.environment["CUDA_VISIBLE_DEVICES"] == "0"
    assert options.environment["NVIDIA_VISIBLE_DEVICES"] == gpus[0].attributes["uuid"]
