"""``python -m services.agent.simulated``: a fleet of simulated agents in one process.

    python -m services.agent.simulated --agents 1000 --cpu 64 --mem 256g \\
        --images python,busybox --prefix sim --resource-group default \\
        [--start-delay 0.05] [--run-seconds 0.5] [--silent-after 30 --silent-agents 2]

It talks to the NATS server at ``BERTH_NATS_URL`` and runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys

from services.agent.simulated.fleet import FleetError, run_fleet
from services.agent.simulated.kernels import Timing
from services.agent.simulated.settings import FleetSettings
from services.service_loop import run_until_stopped

PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,40}$")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m services.agent.simulated",
        description="Simulated agents (no containers) that register, heartbeat and "
        "answer kernel assignments with facts over NATS.",
    )
    p.add_argument("--agents", type=int, default=3, help="how many agents (default 3)")
    p.add_argument("--prefix", default="sim", help="agent names are PREFIX-0 … (default sim)")
    p.add_argument("--resource-group", default="default")
    p.add_argument("--architecture", default="x86_64")
    p.add_argument("--cpu", default="64", help="CPUs per agent (default 64)")
    p.add_argument("--mem", default="256g", help="memory per agent (default 256g)")
    p.add_argument("--images", default="python,busybox", help="comma-separated image names")
    p.add_argument(
        "--start-delay", type=float, default=0.05, help="seconds from created to started"
    )
    p.add_argument(
        "--run-seconds",
        type=float,
        default=0.5,
        help="seconds a batch kernel runs; it exits with N for 'exit N', else 0",
    )
    p.add_argument("--heartbeat-interval", type=float, default=3.0)
    p.add_argument(
        "--silent-after",
        type=float,
        default=None,
        help="after this many seconds, the last --silent-agents agents fall silent",
    )
    p.add_argument("--silent-agents", type=int, default=0)
    return p


def settings_from(args: argparse.Namespace) -> FleetSettings:
    if not PREFIX_RE.match(args.prefix):
        raise SystemExit("--prefix must be lowercase letters, digits, '.', '_' or '-'")
    if args.agents < 1 or args.start_delay < 0 or args.run_seconds < 0:
        raise SystemExit("--agents must be at least 1; delays cannot be negative")
    images = tuple(i.strip() for i in args.images.split(",") if i.strip())
    return FleetSettings(
        agents=args.agents,
        prefix=args.prefix,
        resource_group=args.resource_group,
        architecture=args.architecture,
        cpu=args.cpu,
        mem=args.mem,
        images=images,
        timing=Timing(start_delay=args.start_delay, run_seconds=args.run_seconds),
        heartbeat_interval=args.heartbeat_interval,
        silent_after=args.silent_after,
        silent_agents=args.silent_agents,
    )


def main() -> None:
    settings = settings_from(_parser().parse_args())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        run_until_stopped(lambda stop: run_fleet(settings, stop))
    except FleetError as exc:
        print(f"simulated fleet: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
