"""From a kernel's assignment to Podman's create options: limits, labels, command."""

from __future__ import annotations

from uuid import uuid4

from events.agent import KernelAssigned
from events.session import Mount
from services.agent.container_spec import (
    KEEP_ALIVE,
    Accelerators,
    DeviceMount,
    NodeLimits,
    container_name,
    create_options,
)
from services.agent.cpusets import CpuSets, parse_cpuset
from tests.factories import T0


def _assigned(**fields: object) -> KernelAssigned:
    values: dict[str, object] = {
        "originator_id": uuid4(),
        "originator_version": 2,
        "timestamp": T0,
        "session_id": uuid4(),
        "kernel_id": uuid4(),
        "kernel_index": 0,
        "session_type": "batch",
        "image": "berth-small",
        "slots": {"cpu": "1.5", "mem": "100663296"},
        "startup_command": "echo 42",
    }
    values.update(fields)
    return KernelAssigned(**values)  # type: ignore[arg-type]


def test_limits_labels_and_command() -> None:
    assigned = _assigned(
        environ={"A": "b"}, mounts=[Mount(source="/srv/data", target="/data", read_only=True)]
    )
    agent = uuid4()
    options = create_options(
        assigned,
        agent_id=agent,
        image_ref="localhost/berth-small:latest",
        cpuset=[0, 1],
        accelerators=Accelerators(
            devices=[DeviceMount("/dev/nvidia0", "/dev/nvidia0")],
            environ={"CUDA_VISIBLE_DEVICES": "0"},
            label='{"version":1}',
        ),
        limits=NodeLimits(pids_limit=512, shm_bytes=64 * 1024 * 1024, network="none"),
    )
    assert options["name"] == container_name(assigned.kernel_id)
    assert options["cpu_quota"] == 150_000 and options["cpu_period"] == 100_000
    assert options["cpuset_cpus"] == "0,1"
    assert options["mem_limit"] == options["memswap_limit"] == 100663296
    assert options["shm_size"] == 48 * 1024 * 1024  # half of the 96 MiB limit
    assert options["pids_limit"] == 512
    assert options["command"] == ["/bin/sh", "-c", "echo 42"]
    assert options["devices"] == ["/dev/nvidia0:/dev/nvidia0:rwm"]
    assert options["mounts"] == [
        {"type": "bind", "source": "/srv/data", "target": "/data", "read_only": True}
    ]
    assert options["environment"]["A"] == "b"
    assert options["environment"]["CUDA_VISIBLE_DEVICES"] == "0"
    assert options["environment"]["BERTH_SESSION_ID"] == str(assigned.session_id)
    assert options["labels"]["io.berth.agent-id"] == str(agent)
    assert options["labels"]["io.berth.accelerators"] == '{"version":1}'


def test_shared_memory_never_exceeds_half_the_memory_limit() -> None:
    options = create_options(
        _assigned(slots={"cpu": "1", "mem": "33554432"}),
        agent_id=uuid4(),
        image_ref="x",
        cpuset=[0],
        accelerators=Accelerators(),
        limits=NodeLimits(),
    )
    assert options["shm_size"] == 16 * 1024 * 1024


def test_an_interactive_session_without_a_command_keeps_running() -> None:
    options = create_options(
        _assigned(session_type="interactive", startup_command=None),
        agent_id=uuid4(),
        image_ref="x",
        cpuset=[0],
        accelerators=Accelerators(),
        limits=NodeLimits(),
    )
    assert options["command"] == ["/bin/sh", "-c", KEEP_ALIVE]


def test_cpusets_spread_kernels_and_come_back_after_release() -> None:
    sets = CpuSets([0, 1, 2, 3])
    a, b, c = uuid4(), uuid4(), uuid4()
    from decimal import Decimal

    assert sets.allocate(a, Decimal("2")) == [0, 1]
    assert sets.allocate(b, Decimal("0.5")) == [2]
    assert sets.allocate(c, Decimal("1")) == [3]
    sets.release(a)
    assert sets.allocate(uuid4(), Decimal("1.2")) == [0, 1]
    assert parse_cpuset("0-2,5") == [0, 1, 2, 5]
