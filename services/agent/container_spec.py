"""From a ``KernelAssigned`` decision to the container Podman creates. Pure.

Everything that ties a container to its session travels as labels, so that the
agent can find and adopt its containers after a restart from Podman alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from events.agent import KernelAssigned
from services.agent.cpusets import format_cpuset

LABEL_SESSION = "io.berth.session-id"
LABEL_KERNEL = "io.berth.kernel-id"
LABEL_AGENT = "io.berth.agent-id"
LABEL_ACCELERATORS = "io.berth.accelerators"
LABEL_CPUSET = "io.berth.cpuset"

CFS_PERIOD = 100_000

#: an interactive session without a command of its own keeps running until stopped
KEEP_ALIVE = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait; done"


def container_name(kernel_id: UUID) -> str:
    """One name per kernel: Podman refuses a second container of the same kernel."""
    return f"berth-{kernel_id}"


@dataclass(frozen=True)
class DeviceMount:
    host_path: str
    container_path: str
    permissions: str = "rwm"


@dataclass(frozen=True)
class Accelerators:
    """What the accelerator plugins give one kernel."""

    devices: list[DeviceMount] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=dict)
    #: (host path, container path, read only): driver libraries and tools
    mounts: list[tuple[str, str, bool]] = field(default_factory=list)
    #: the allocation, serialised, so that it can be restored after a restart
    label: str = ""


@dataclass(frozen=True)
class NodeLimits:
    pids_limit: int = 1024
    #: shared memory (/dev/shm); at most half the kernel's memory
    shm_bytes: int = 64 * 1024 * 1024
    network: str = "bridge"


def _command(assigned: KernelAssigned) -> list[str]:
    if assigned.startup_command:
        return ["/bin/sh", "-c", assigned.startup_command]
    if assigned.session_type == "interactive":
        return ["/bin/sh", "-c", KEEP_ALIVE]
    return []  # the image's own command


def create_options(
    assigned: KernelAssigned,
    *,
    agent_id: UUID,
    image_ref: str,
    cpuset: list[int],
    accelerators: Accelerators,
    limits: NodeLimits,
) -> dict[str, Any]:
    """Keyword arguments for podman-py's ``containers.create``."""
    cpu = Decimal(assigned.slots.get("cpu", "1"))
    mem = int(Decimal(assigned.slots.get("mem", "0")))
    environ = {
        **assigned.environ,
        **accelerators.environ,
        "BERTH_SESSION_ID": str(assigned.session_id),
        "BERTH_KERNEL_ID": str(assigned.kernel_id),
        "BERTH_KERNEL_INDEX": str(assigned.kernel_index),
        "BERTH_SESSION_TYPE": assigned.session_type,
        "BERTH_CPU": str(cpu),
    }
    labels = {
        LABEL_SESSION: str(assigned.session_id),
        LABEL_KERNEL: str(assigned.kernel_id),
        LABEL_AGENT: str(agent_id),
        LABEL_CPUSET: format_cpuset(cpuset),
    }
    if accelerators.label:
        labels[LABEL_ACCELERATORS] = accelerators.label
    options: dict[str, Any] = {
        "image": image_ref,
        "name": container_name(assigned.kernel_id),
        "labels": labels,
        "environment": environ,
        "cpu_period": CFS_PERIOD,
        "cpu_quota": max(1000, int(cpu * CFS_PERIOD)),
        "cpuset_cpus": format_cpuset(cpuset),
        "pids_limit": limits.pids_limit,
        "network_mode": limits.network,
        "mounts": [
            {
                "type": "bind",
                "source": m.source,
                "target": m.target,
                "read_only": m.read_only,
            }
            for m in assigned.mounts
        ]
        + [
            {"type": "bind", "source": source, "target": target, "read_only": read_only}
            for source, target, read_only in accelerators.mounts
        ],
        "devices": [
            f"{d.host_path}:{d.container_path}:{d.permissions}" for d in accelerators.devices
        ],
    }
    if mem > 0:
        options["mem_limit"] = mem
        options["memswap_limit"] = mem  # no swap: the limit is the limit
        options["shm_size"] = min(limits.shm_bytes, mem // 2)
    else:
        options["shm_size"] = limits.shm_bytes
    command = _command(assigned)
    if command:
        options["command"] = command
    return options


def accelerators_label(options: dict[str, Any]) -> str:
    labels: dict[str, str] = options.get("labels", {})
    return labels.get(LABEL_ACCELERATORS, "")


def describe(options: dict[str, Any]) -> str:
    """A short, loggable summary of a container's limits."""
    keys = ("cpu_quota", "cpuset_cpus", "mem_limit", "pids_limit", "shm_size", "network_mode")
    return json.dumps({k: options[k] for k in keys if k in options})
