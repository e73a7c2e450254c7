"""Show what Berth's CUDA plugin sees on this machine: `python3 scripts/gpu_proof.py`.

Needs only Python and pynvml (package nvidia-ml-py). Prints the GPUs found, the slots the agent
would announce, their utilisation, and the container options for a kernel given one GPU. On a
machine without a GPU it says so; it exits 0 either way.
"""

from __future__ import annotations

import importlib
import logging
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load_cuda_plugin() -> tuple[Any, str]:
    for entry in entry_points(group="berth.accelerators", name="cuda"):
        return entry.load()(), f"entry point {entry.value}"
    module = importlib.import_module("services.agent.accelerators.cuda")
    return module.CudaPlugin(), "module services.agent.accelerators.cuda"


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    plugin, source = load_cuda_plugin()
    print(f"cuda plugin loaded from {source}")
    devices = plugin.discover()
    if not devices:
        print(f"none found: {plugin.unavailable_reason or 'NVML reports no GPU'}")
        return 0
    print(f"{len(devices)} GPU(s) found:")
    for d in devices:
        print(f"  {d.id}  {d.model}  memory={d.memory} bytes  shares={d.shares}")
        print(f"    {dict(d.attributes)}")
    print("slots:", {name: str(amount) for name, amount in plugin.slots(devices).items()})
    for device_id, usage in plugin.utilisation(devices).items():
        print(f"utilisation {device_id}: {usage.util_percent}% busy, {usage.mem_used} bytes used")

    allocator_module = importlib.import_module("services.agent.accelerators.allocator")
    allocator = allocator_module.DeviceAllocator(devices)
    allocation = allocator.allocate("proof-kernel", {"cuda.device": "1"})
    options = plugin.container_options(allocation)
    print("allocation label:", allocation.to_label())
    print("container devices:", [f.spec() for f in options.devices])
    print("container environment:", dict(options.environment))
    print("container mounts:", [f"{m.source}:{m.target}:ro" for m in options.mounts])
    plugin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
