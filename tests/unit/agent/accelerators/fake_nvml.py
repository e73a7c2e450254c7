"""A stand-in for pynvml: the calls the CUDA plugin makes, answered from a list of fake GPUs."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace


class NVMLError(Exception):
    """As pynvml raises for every NVML failure."""


@dataclass
class FakeGpu:
    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-00000000-0000-0000-0000-000000000000"
    memory_total: int = 80 * 2**30
    memory_used: int = 2**30
    util: int = 42
    minor: int = 0
    bus_id: str = "00000000:01:00.0"
    #: every query about this GPU fails (as a GPU that fell off the bus does)
    broken: bool = False
    #: utilisation queries fail with NOT_SUPPORTED, the rest work
    no_utilisation: bool = False


def gpus(count: int) -> list[FakeGpu]:
    """``count`` distinct GPUs; minors run backwards so they never equal the index."""
    return [
        FakeGpu(
            uuid=f"GPU-{i:08d}-aaaa-bbbb-cccc-dddddddddddd",
            minor=10 + count - i,
            util=10 * (i + 1),
            bus_id=f"00000000:{i + 1:02X}:00.0",
        )
        for i in range(count)
    ]


class FakeNvml:
    NVMLError = NVMLError

    def __init__(
        self,
        devices: list[FakeGpu],
        *,
        init_error: Exception | None = None,
        as_bytes: bool = False,
    ) -> None:
        self.devices = devices
        self.init_error = init_error
        self.as_bytes = as_bytes
        self.init_calls = 0
        self.shutdown_calls = 0

    def _gpu(self, handle: object) -> FakeGpu:
        assert isinstance(handle, FakeGpu)
        if handle.broken:
            raise NVMLError("GPU is lost")
        return handle

    def _text(self, value: str) -> str | bytes:
        return value.encode() if self.as_bytes else value

    def nvmlInit(self) -> None:
        self.init_calls += 1
        if self.init_error is not None:
            raise self.init_error

    def nvmlShutdown(self) -> None:
        self.shutdown_calls += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        return self.devices[index]

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> FakeGpu:
        for gpu in self.devices:
            if gpu.uuid == uuid:
                return gpu
        raise NVMLError("Not Found")

    def nvmlDeviceGetName(self, handle: object) -> str | bytes:
        return self._text(self._gpu(handle).name)

    def nvmlDeviceGetUUID(self, handle: object) -> str | bytes:
        return self._text(self._gpu(handle).uuid)

    def nvmlDeviceGetMinorNumber(self, handle: object) -> int:
        return self._gpu(handle).minor

    def nvmlDeviceGetPciInfo(self, handle: object) -> SimpleNamespace:
        return SimpleNamespace(busId=self._text(self._gpu(handle).bus_id))

    def nvmlDeviceGetMemoryInfo(self, handle: object) -> SimpleNamespace:
        gpu = self._gpu(handle)
        return SimpleNamespace(
            total=gpu.memory_total, used=gpu.memory_used, free=gpu.memory_total - gpu.memory_used
        )

    def nvmlDeviceGetUtilizationRates(self, handle: object) -> SimpleNamespace:
        gpu = self._gpu(handle)
        if gpu.no_utilisation:
            raise NVMLError("Not Supported")
        return SimpleNamespace(gpu=gpu.util, memory=gpu.util // 2)
