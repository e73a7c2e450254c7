"""The CUDA plugin against a fake NVML: what it finds, announces, hands out and never crashes on."""

from __future__ import annotations

import logging
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from services.agent.accelerators.allocator import DeviceAllocator
from services.agent.accelerators.cuda import CudaPlugin, CudaSettings
from services.agent.accelerators.plugin import AcceleratorPlugin, Allocation, DeviceGrant
from tests.unit.agent.accelerators.fake_nvml import FakeNvml, NVMLError, gpus


def host(tmp_path: Path, minors: list[int]) -> Path:
    """A host tree with device nodes for these minors and a driver in Debian's library folder."""
    dev = tmp_path / "dev"
    dev.mkdir()
    for name in [f"nvidia{m}" for m in minors] + ["nvidiactl", "nvidia-uvm"]:
        (dev / name).touch()
    lib = tmp_path / "usr/lib/x86_64-linux-gnu"
    lib.mkdir(parents=True)
    for name in ["libcuda.so.550.54.15", "libnvidia-ml.so.550.54.15", "libcudart.so.12"]:
        (lib / name).touch()
    (lib / "libcuda.so.1").symlink_to("libcuda.so.550.54.15")
    (tmp_path / "usr/bin").mkdir()
    (tmp_path / "usr/bin/nvidia-smi").write_bytes(ELF)
    return tmp_path


ELF = b"\x7fELF\x02\x01\x01"  # how every Linux executable begins


def test_discovers_each_gpu_with_its_identity() -> None:
    plugin = CudaPlugin(CudaSettings(), nvml=FakeNvml(gpus(2)))

    devices = plugin.discover()

    assert isinstance(plugin, AcceleratorPlugin)
    assert [d.id for d in devices] == ["cuda:0", "cuda:1"]
    first = devices[0]
    assert (first.index, first.model, first.memory) == (0, "NVIDIA H100 80GB HBM3", 80 * 2**30)
    assert first.shares == Decimal(1) and not first.shareable
    assert dict(first.attributes) == {
        "uuid": "GPU-00000000-aaaa-bbbb-cccc-dddddddddddd",
        "minor": "12",
        "pci_bus_id": "00000000:01:00.0",
    }


def test_older_pynvml_returning_bytes_gives_the_same_text() -> None:
    devices = CudaPlugin(CudaSettings(), nvml=FakeNvml(gpus(1), as_bytes=True)).discover()

    assert devices[0].model == "NVIDIA H100 80GB HBM3"
    assert devices[0].attributes["uuid"].startswith("GPU-")


def test_whole_gpus_only_unless_shares_are_configured() -> None:
    whole = CudaPlugin(CudaSettings(), nvml=FakeNvml(gpus(2)))
    shared = CudaPlugin(CudaSettings(shareable=True), nvml=FakeNvml(gpus(2)))

    assert whole.slots(whole.discover()) == {"cuda.device": Decimal(2)}
    assert shared.slots(shared.discover()) == {
        "cuda.device": Decimal(2),
        "cuda.shares": Decimal(2),
    }


def test_settings_come_from_the_environment() -> None:
    assert CudaSettings.from_env({}) == CudaSettings(shareable=False, driver_mounts=True)
    assert CudaSettings.from_env(
        {"BERTH_CUDA_SHARES": "true", "BERTH_CUDA_DRIVER_MOUNTS": "0"}
    ) == CudaSettings(shareable=True, driver_mounts=False)
    with pytest.raises(ValueError, match="BERTH_CUDA_SHARES"):
        CudaSettings.from_env({"BERTH_CUDA_SHARES": "maybe"})


def test_no_driver_means_no_gpus_with_the_reason_logged(caplog: pytest.LogCaptureFixture) -> None:
    nvml = FakeNvml(gpus(1), init_error=NVMLError("Driver Not Loaded"))
    plugin = CudaPlugin(CudaSettings(), nvml=nvml)

    with caplog.at_level(logging.INFO):
        assert plugin.discover() == []
        assert plugin.utilisation([]) == {}

    assert plugin.unavailable_reason == "NVML unavailable: Driver Not Loaded"
    assert sum("Driver Not Loaded" in r.message for r in caplog.records) == 1
    # A driver loaded later is found on the next discovery.
    nvml.init_error = None
    assert [d.id for d in plugin.discover()] == ["cuda:0"]
    assert plugin.unavailable_reason is None


def test_without_pynvml_installed_there_are_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` fail
    plugin = CudaPlugin(CudaSettings())

    assert plugin.discover() == []
    assert "pynvml is not installed" in (plugin.unavailable_reason or "")


def test_a_broken_gpu_is_skipped_and_the_others_kept() -> None:
    devices = gpus(3)
    devices[1].broken = True

    found = CudaPlugin(CudaSettings(), nvml=FakeNvml(devices)).discover()

    assert [d.id for d in found] == ["cuda:0", "cuda:2"]


def test_utilisation_reads_busy_percent_and_memory_used() -> None:
    devices = gpus(3)
    devices[2].no_utilisation = True
    plugin = CudaPlugin(CudaSettings(), nvml=FakeNvml(devices))
    found = plugin.discover()

    usage = plugin.utilisation(found)

    assert set(usage) == {"cuda:0", "cuda:1"}
    assert usage["cuda:1"].util_percent == 20.0
    assert usage["cuda:1"].mem_used == 2**30
    assert usage["cuda:1"].telemetry() == {"util_percent": 20.0, "mem_bytes": float(2**30)}


def test_container_gets_its_gpu_nodes_control_nodes_and_driver(tmp_path: Path) -> None:
    nvml = FakeNvml(gpus(3))  # minors 13, 12, 11
    root = host(tmp_path, minors=[13, 12, 11])
    plugin = CudaPlugin(CudaSettings(), nvml=nvml, root=root)
    allocator = DeviceAllocator(plugin.discover())

    options = plugin.container_options(allocator.allocate("k", {"cuda.device": "2"}))

    assert [(f.host_path, f.container_path, f.permissions) for f in options.devices] == [
        (str(root / "dev/nvidia12"), "/dev/nvidia12", "rwm"),
        (str(root / "dev/nvidia13"), "/dev/nvidia13", "rwm"),
        (str(root / "dev/nvidiactl"), "/dev/nvidiactl", "rwm"),
        (str(root / "dev/nvidia-uvm"), "/dev/nvidia-uvm", "rwm"),
    ]  # nvidia-uvm-tools does not exist on this host, so it is left out
    assert dict(options.environment) == {
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        "CUDA_VISIBLE_DEVICES": "0,1",
        "NVIDIA_VISIBLE_DEVICES": "GPU-00000000-aaaa-bbbb-cccc-dddddddddddd,"
        "GPU-00000001-aaaa-bbbb-cccc-dddddddddddd",
        "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
    }
    assert {(m.target, m.read_only) for m in options.mounts} == {
        ("/usr/lib/x86_64-linux-gnu/libcuda.so.1", True),
        ("/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.15", True),
        ("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.15", True),
        ("/usr/bin/nvidia-smi", True),
    }


def test_nvidia_smi_is_the_program_itself_never_a_wrapper_script(tmp_path: Path) -> None:
    root = host(tmp_path, minors=[11])
    (root / "usr/bin/nvidia-smi").write_text("#!/bin/sh\nexec /usr/local/nvidia/bin/nvidia-smi\n")
    (root / "usr/local/nvidia/bin").mkdir(parents=True)
    (root / "usr/local/nvidia/bin/nvidia-smi").write_bytes(ELF)
    plugin = CudaPlugin(CudaSettings(), nvml=FakeNvml(gpus(1)), root=root)
    plugin.discover()

    options = plugin.container_options(Allocation((DeviceGrant("cuda:0", Decimal(1), True),)))

    tools = [(m.source, m.target) for m in options.mounts if m.target.endswith("nvidia-smi")]
    assert tools == [(str(root / "usr/local/nvidia/bin/nvidia-smi"), "/usr/bin/nvidia-smi")]


def test_without_an_nvidia_smi_program_none_is_mounted(tmp_path: Path) -> None:
    root = host(tmp_path, minors=[11])
    (root / "usr/bin/nvidia-smi").write_text("#!/bin/sh\nexit 127\n")
    plugin = CudaPlugin(CudaSettings(), nvml=FakeNvml(gpus(1)), root=root)
    plugin.discover()

    options = plugin.container_options(Allocation((DeviceGrant("cuda:0", Decimal(1), True),)))

    assert not [m for m in options.mounts if m.target.endswith("nvidia-smi")]
    assert any(m.target.endswith("libcuda.so.1") for m in options.mounts)


def test_driver_mounts_can_be_left_to_the_container_toolkit(tmp_path: Path) -> None:
    plugin = CudaPlugin(
        CudaSettings(driver_mounts=False), nvml=FakeNvml(gpus(1)), root=host(tmp_path, [11])
    )
    plugin.discover()

    options = plugin.container_options(Allocation((DeviceGrant("cuda:0", Decimal(1), True),)))

    assert options.mounts == ()
    assert options.devices[0].container_path == "/dev/nvidia11"


def test_container_options_for_a_restored_allocation_before_any_discovery(tmp_path: Path) -> None:
    plugin = CudaPlugin(CudaSettings(), nvml=FakeNvml(gpus(2)), root=host(tmp_path, [11, 12]))
    restored = Allocation.from_label(
        Allocation((DeviceGrant("cuda:1", Decimal(1), True),)).to_label()
    )

    options = plugin.container_options(restored)

    assert options.devices[0].container_path == "/dev/nvidia11"
    assert options.environment["CUDA_VISIBLE_DEVICES"] == "0"


def test_container_options_for_an_unknown_gpu_say_so(tmp_path: Path) -> None:
    plugin = CudaPlugin(CudaSettings(), nvml=FakeNvml(gpus(1)), root=tmp_path)

    with pytest.raises(LookupError, match="cuda:7"):
        plugin.container_options(Allocation((DeviceGrant("cuda:7", Decimal(1), True),)))
    assert plugin.container_options(Allocation()).devices == ()


def test_close_shuts_nvml_down_once() -> None:
    nvml = FakeNvml(gpus(1))
    plugin = CudaPlugin(CudaSettings(), nvml=nvml)
    plugin.discover()

    plugin.close()
    plugin.close()

    assert nvml.shutdown_calls == 1
