"""Raw Podman, the floor the agent benchmark measures Berth against.

The containers get exactly what the agent gives a kernel: the options come from
the agent's own ``create_options`` (CPU quota and cpuset, memory without swap,
pids limit, /dev/shm size, network, labels, environment, command), turned into
``podman run`` flags for the command line, or passed unchanged to podman-py for
the API. Every container made here carries ``io.berth.bench=<run id>``, so a
final sweep removes whatever a failure left behind, and nothing else.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import podman

from events.agent import KernelAssigned
from images.names import container_image_ref
from services.agent.container_spec import Accelerators, NodeLimits, create_options
from services.manager.scheduler.slots import ResourceSlots

BENCH_LABEL = "io.berth.bench"


@dataclass(frozen=True)
class Container:
    """What each container of the comparison gets, Berth's and raw alike."""

    image: str
    cpu: str
    mem: str
    network: str
    cores: tuple[int, ...]

    def options(self, session_type: str, command: str | None, core: int) -> dict[str, Any]:
        """podman-py ``create`` options, built by the agent's own code for a kernel like Berth's."""
        slots = ResourceSlots.parse({"cpu": self.cpu, "mem": self.mem}).to_json()
        kernel_id = uuid.uuid4()
        assigned = KernelAssigned(
            originator_id=uuid.uuid4(),
            originator_version=1,
            timestamp=datetime.now(UTC),
            session_id=uuid.uuid4(),
            kernel_id=kernel_id,
            kernel_index=0,
            session_type=session_type,
            image=self.image,
            slots={k: str(v) for k, v in slots.items()},
            startup_command=command,
        )
        return create_options(
            assigned,
            agent_id=uuid.UUID(int=0),
            image_ref=container_image_ref(self.image),
            cpuset=[core],
            accelerators=Accelerators(),
            limits=NodeLimits(network=self.network),
        )


def run_flags(options: dict[str, Any], run_id: str) -> list[str]:
    """``podman run`` flags equivalent to podman-py ``create`` options (the subset used)."""
    flags = [
        f"--network={options['network_mode']}",
        f"--cpu-period={options['cpu_period']}",
        f"--cpu-quota={options['cpu_quota']}",
        f"--cpuset-cpus={options['cpuset_cpus']}",
        f"--pids-limit={options['pids_limit']}",
        f"--shm-size={options['shm_size']}",
        f"--label={BENCH_LABEL}={run_id}",
    ]
    if "mem_limit" in options:
        flags += [f"--memory={options['mem_limit']}", f"--memory-swap={options['memswap_limit']}"]
    flags += [f"--label={k}={v}" for k, v in options["labels"].items()]
    flags += [f"--env={k}={v}" for k, v in options["environment"].items()]
    return [*flags, options["image"], *options.get("command", [])]


def podman_binary() -> str:
    found = shutil.which("podman")
    if found is None:
        raise RuntimeError("podman is not installed (./dev setup installs it)")
    return found


class RawPodman:
    def __init__(self, container: Container, api_url: str) -> None:
        self.container = container
        self.run_id = uuid.uuid4().hex[:12]
        self._podman = podman_binary()
        self._api_url = api_url
        self._next_core = 0

    def _core(self) -> int:
        cores = self.container.cores
        self._next_core += 1
        return cores[self._next_core % len(cores)]

    def _options(self, session_type: str, command: str | None) -> dict[str, Any]:
        return self.container.options(session_type, command, self._core())

    def start_detached(self) -> float:
        """``podman run -d`` of an interactive container: seconds the command took.

        The container is removed afterwards, outside the measured time.
        """
        args = [
            self._podman,
            "run",
            "-d",
            *run_flags(self._options("interactive", None), self.run_id),
        ]
        began = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        took = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"podman run -d failed: {done.stderr.strip()}")
        self._remove(done.stdout.strip())
        return took

    def start_through_api(self) -> float:
        """create + start through the Podman API service, as podman-py calls it: seconds.

        The agent's own floor: the same service, client library and options, without
        Berth around them.
        """
        options = self._options("interactive", None)
        options["labels"] = {**options["labels"], BENCH_LABEL: self.run_id}
        with podman.PodmanClient(base_url=self._api_url) as client:
            began = time.perf_counter()
            container = client.containers.create(**options)
            container.start()
            took = time.perf_counter() - began
            container.remove(force=True)
        return took

    def _remove(self, container_id: str) -> None:
        subprocess.run(
            [self._podman, "rm", "--force", "--time=0", container_id],
            capture_output=True,
            check=False,
        )

    async def run_batch(self, count: int, concurrency: int, command: str) -> float:
        """``count`` runs of ``podman run --rm`` of a batch container, ``concurrency`` at a time.

        Returns the seconds from the first start to the last command's end.
        """
        remaining = iter(range(count))
        failures: list[str] = []

        async def worker() -> None:
            for _ in remaining:
                flags = run_flags(self._options("batch", command), self.run_id)
                proc = await asyncio.create_subprocess_exec(
                    self._podman,
                    "run",
                    "--rm",
                    *flags,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
                _, err = await proc.communicate()
                if proc.returncode != 0:
                    failures.append(err.decode(errors="replace").strip())

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        took = time.perf_counter() - began
        if failures:
            raise RuntimeError(f"{len(failures)} raw podman runs failed, e.g.: {failures[0]}")
        return took

    def sweep(self) -> int:
        """Remove every container of this run that is still there; returns how many."""
        listed = subprocess.run(
            [self._podman, "ps", "-aq", f"--filter=label={BENCH_LABEL}={self.run_id}"],
            capture_output=True,
            text=True,
            check=False,
        )
        ids = listed.stdout.split()
        for container_id in ids:
            self._remove(container_id)
        return len(ids)
