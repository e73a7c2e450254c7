"""``python -m services.agent``: the Podman agent of one node.

    python -m services.agent --name node-1 [--resource-group default] \\
        [--accelerators mock,cuda] [--network bridge|none] [--metrics-port 9480]

Settings also come from ``BERTH_*`` variables (see ``settings.py``); it talks to the
NATS server at ``BERTH_NATS_URL`` and runs until SIGINT/SIGTERM. Its containers keep
running when it stops; the next start adopts them.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys

from services.agent.accelerators.loading import PluginLoadError
from services.agent.bootstrap import AgentError, run_agent
from services.agent.podman_service import PodmanUnavailable
from services.agent.settings import AgentSettings
from services.service_loop import run_until_stopped

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m services.agent",
        description="Berth's agent: runs the kernels decided for this node in Podman.",
    )
    p.add_argument("--name", help="agent name (default: BERTH_AGENT_NAME or the host name)")
    p.add_argument("--resource-group", help="resource group to join (default: default)")
    p.add_argument("--accelerators", help="accelerator plugins, comma-separated (mock,cuda)")
    p.add_argument("--network", choices=["bridge", "none"], help="session containers' network")
    p.add_argument("--cpu", help="CPUs offered (default: all of the node's)")
    p.add_argument("--mem", help="memory offered, e.g. 16g (default: the node's less 1g)")
    p.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    return p


def settings_from(args: argparse.Namespace) -> AgentSettings:
    accelerators = None
    if args.accelerators is not None:
        accelerators = tuple(a.strip() for a in args.accelerators.split(",") if a.strip())
    settings = AgentSettings.from_env(
        name=args.name,
        resource_group=args.resource_group,
        accelerators=accelerators,
        network=args.network,
        cpu=args.cpu,
        mem=args.mem,
        metrics_port=args.metrics_port,
    )
    if not NAME_RE.match(settings.name):
        raise SystemExit("--name must be lowercase letters, digits, '.', '_' or '-'")
    return settings


def main() -> None:
    settings = settings_from(_parser().parse_args())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        run_until_stopped(lambda stop: run_agent(settings, stop))
    except (AgentError, PodmanUnavailable, PluginLoadError) as exc:
        print(f"agent: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
