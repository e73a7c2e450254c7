"""The settings of one simulated fleet: how many agents, how big, how their kernels behave."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from services.agent.simulated.kernels import Timing


@dataclass(frozen=True)
class FleetSettings:
    agents: int = 3
    #: agents are named ``<prefix>-0`` … ``<prefix>-<N-1>``
    prefix: str = "sim"
    resource_group: str = "default"
    architecture: str = "x86_64"
    #: each agent's capacity; units as in session requests (``256g``)
    cpu: str = "64"
    mem: str = "256g"
    images: tuple[str, ...] = ("python", "busybox")
    timing: Timing = field(default_factory=Timing)
    heartbeat_interval: float = 3.0
    #: registrations in flight at once
    register_concurrency: int = 32
    #: give up when the manager has not accepted every agent after this long
    register_patience: float = 120.0
    #: after this many seconds the last ``silent_agents`` agents stop (None: never)
    silent_after: float | None = None
    silent_agents: int = 0
    nats_url: str = field(
        default_factory=lambda: os.environ.get("BERTH_NATS_URL", "nats://127.0.0.1:14222")
    )

    def names(self) -> list[str]:
        return [f"{self.prefix}-{i}" for i in range(self.agents)]

    def capacity(self) -> dict[str, str | int | float]:
        return {"cpu": self.cpu, "mem": self.mem}
