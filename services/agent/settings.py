"""The settings of one Podman agent: from ``python -m services.agent`` options and ``BERTH_*``."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from services.manager.settings import data_dir


def default_socket(agent_name: str) -> Path:
    """``/run/berth/podman-<agent>.sock`` as root, else under the user's runtime directory.

    Short on purpose: a UNIX socket's path may not be longer than 107 bytes.
    """
    if os.geteuid() == 0:
        base = Path("/run/berth")
    else:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        base = Path(runtime) / "berth" if runtime else Path(f"/tmp/berth-{os.getuid()}")
    return base / f"podman-{agent_name}.sock"


@dataclass(frozen=True)
class AgentSettings:
    name: str
    resource_group: str = "default"
    nats_url: str = "nats://127.0.0.1:14222"
    #: where the agent keeps kernel logs after their containers are gone
    state_dir: Path = Path(".berth/agent")
    #: the Podman API socket; started by the agent when nothing answers there
    #: (by default one per agent, so that no agent depends on another's service)
    podman_socket: Path = Path("/run/berth/podman.sock")
    #: CPUs and memory offered (None: the whole node, less ``mem_reserved``)
    cpu: str | None = None
    mem: str | None = None
    mem_reserved: str = "1g"
    #: accelerator plugins by entry-point name (``mock``, ``cuda``)
    accelerators: tuple[str, ...] = ()
    #: network of session containers: ``bridge`` or ``none``
    network: str = "bridge"
    pids_limit: int = 1024
    shm: str = "64m"
    stop_timeout: float = 10.0
    heartbeat_interval: float = 3.0
    reconcile_interval: float = 10.0
    telemetry_interval: float = 5.0
    metrics_host: str = "127.0.0.1"
    #: Prometheus metrics port (0: not served)
    metrics_port: int = 0
    #: Podman calls in flight at once (creating, starting, stopping containers)
    workers: int = 8

    @classmethod
    def from_env(cls, **overrides: object) -> AgentSettings:
        env = os.environ
        name = str(
            overrides.pop("name", None) or env.get("BERTH_AGENT_NAME") or socket.gethostname()
        )
        accelerators = tuple(
            a.strip() for a in env.get("BERTH_ACCELERATORS", "").split(",") if a.strip()
        )
        values: dict[str, object] = {
            "name": name,
            "resource_group": env.get("BERTH_RESOURCE_GROUP", cls.resource_group),
            "nats_url": env.get("BERTH_NATS_URL", cls.nats_url),
            "state_dir": Path(env.get("BERTH_AGENT_STATE_DIR", str(data_dir() / "agent" / name))),
            "podman_socket": Path(env.get("BERTH_PODMAN_SOCKET") or default_socket(name)),
            "cpu": env.get("BERTH_AGENT_CPU") or None,
            "mem": env.get("BERTH_AGENT_MEM") or None,
            "accelerators": accelerators,
            "network": env.get("BERTH_AGENT_NETWORK", cls.network),
            "stop_timeout": float(env.get("BERTH_AGENT_STOP_TIMEOUT", cls.stop_timeout)),
            "heartbeat_interval": float(
                env.get("BERTH_HEARTBEAT_INTERVAL", cls.heartbeat_interval)
            ),
            "reconcile_interval": float(
                env.get("BERTH_RECONCILE_INTERVAL", cls.reconcile_interval)
            ),
            "telemetry_interval": float(
                env.get("BERTH_TELEMETRY_INTERVAL", cls.telemetry_interval)
            ),
            "metrics_port": int(env.get("BERTH_AGENT_METRICS_PORT", cls.metrics_port)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
