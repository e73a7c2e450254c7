"""What this node offers: architecture, CPUs, memory (less what the host keeps)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def architecture() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def cpu_cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def memory_bytes(meminfo: Path = Path("/proc/meminfo")) -> int:
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("cannot read the node's memory from /proc/meminfo")
