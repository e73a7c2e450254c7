"""``python -m tests.bench agent …``: its options, and the run that prints its figures."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

from tests.bench import agent, agent_report
from tests.bench.report import write_json
from tests.bench.scratch import DEFAULT_PG_ADMIN_DSN, pg_unreachable_reason


def add_parser(benchmarks: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = benchmarks.add_parser(
        "agent",
        help="the Podman agent against raw Podman: session start latency, batch throughput",
    )
    bench.add_argument(
        "--sessions", type=int, default=50, help="start-latency samples of each kind (default 50)"
    )
    bench.add_argument(
        "--warmup", type=int, default=3, help="starts of each kind left out first (default 3)"
    )
    bench.add_argument(
        "--batch", type=int, default=200, help="batch containers per throughput run (default 200)"
    )
    bench.add_argument(
        "--concurrency",
        default="1,2,4,8",
        help="raw podman run concurrencies to try, comma-separated (default 1,2,4,8)",
    )
    bench.add_argument(
        "--network",
        choices=["none", "bridge"],
        default="none",
        help="the containers' network, raw and Berth's alike (default none)",
    )
    bench.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    bench.add_argument("--cpu", default="0.25", help="CPUs of every container (default 0.25)")
    bench.add_argument("--mem", default="64m", help="memory of every container (default 64m)")
    bench.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    bench.add_argument(
        "--pg-dsn",
        default=os.environ.get("BERTH_BENCH_PG_DSN", DEFAULT_PG_ADMIN_DSN),
        help="a PostgreSQL server to create the scratch database on (BERTH_BENCH_PG_DSN)",
    )


def options_from(args: argparse.Namespace) -> agent.Options:
    try:
        concurrency = tuple(int(c) for c in args.concurrency.split(",") if c.strip())
    except ValueError:
        sys.exit("--concurrency must be a comma-separated list of numbers")
    if args.sessions < 1 or args.batch < 1 or args.warmup < 0:
        sys.exit("--sessions and --batch must be at least 1, --warmup at least 0")
    if not concurrency or min(concurrency) < 1:
        sys.exit("--concurrency needs numbers of at least 1")
    if args.store == "postgres" and (why := pg_unreachable_reason(args.pg_dsn)):
        sys.exit(f"cannot run on PostgreSQL: {why}")
    return agent.Options(
        sessions=args.sessions,
        warmup=args.warmup,
        batch=args.batch,
        concurrency=concurrency,
        network=args.network,
        store=args.store,
        cpu=args.cpu,
        mem=args.mem,
        pg_admin_dsn=args.pg_dsn,
    )


def run_from_args(args: argparse.Namespace, progress: Callable[[str], None]) -> None:
    options = options_from(args)
    print(agent_report.header(options), flush=True)
    result = asyncio.run(agent.run(options, progress))
    print(agent_report.format_result(result), flush=True)
    if args.json:
        write_json(args.json, agent_report.as_json(result))
        print(f"figures written to {args.json}")
