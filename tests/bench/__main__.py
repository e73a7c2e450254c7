"""``python -m tests.bench backbone|scheduler|gateway|agent``: the backbone's, the scheduler's,
the gateway's and the Podman agent's figures.

``backbone [--store sqlite|postgres|both] [--events N] [--rounds N] [--rate R] [--json FILE]``;
``scheduler [--store …] [--requests N] [--agents N] [--orders fifo,lifo,drf,priority]``;
``gateway [--store …] [--requests N] [--concurrency N]``;
``agent [--sessions N] [--batch N] [--concurrency 1,2,4,8] [--network none|bridge] [--store …]``.

Prints the figures as it goes and a table per store backend at the end. It
exits non-zero only when the benchmark could not run, never because a figure
missed its target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from services import sqlite_library
from tests.bench import agent_cli, gateway, scheduler
from tests.bench.backbone import BACKENDS, BackendResult, Options, run_backend
from tests.bench.report import as_json, format_result, header, write_json
from tests.bench.scratch import DEFAULT_PG_ADMIN_DSN


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    benchmarks = parser.add_subparsers(dest="benchmark", required=True)
    backbone = benchmarks.add_parser(
        "backbone",
        help="store, JetStream and the backbone end to end; lag from store to read model",
    )
    backbone.add_argument("--store", choices=[*BACKENDS, "both"], default="both")
    backbone.add_argument(
        "--events", type=int, default=20_000, help="events stored end to end (default 20,000)"
    )
    backbone.add_argument(
        "--rate", type=float, default=1000.0, help="events/s for the lag measurement"
    )
    backbone.add_argument(
        "--lag-seconds", type=float, default=10.0, help="how long to write at --rate"
    )
    backbone.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="raw figures and the backbone end to end, measured this many times in turn"
        " (default 3; the ratio is the median round's)",
    )
    backbone.add_argument(
        "--relay",
        choices=["manager", "process"],
        default="manager",
        help="run the relay in the saving process, as the manager does (default), or alone",
    )
    backbone.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    backbone.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy samples of each process while measuring, one file each per run in DIR",
    )
    backbone.add_argument(
        "--pg-dsn",
        default=os.environ.get("BERTH_BENCH_PG_DSN", DEFAULT_PG_ADMIN_DSN),
        help="a PostgreSQL server to create the scratch databases on (BERTH_BENCH_PG_DSN)",
    )
    _scheduler_parser(benchmarks)
    gateway.add_parser(benchmarks)
    agent_cli.add_parser(benchmarks)
    return parser


def _scheduler_parser(benchmarks: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sched = benchmarks.add_parser(
        "scheduler",
        help="session requests placed onto simulated agents: placements/s, latency, memory",
    )
    sched.add_argument("--store", choices=[*scheduler.BACKENDS, "both"], default="both")
    sched.add_argument("--requests", type=int, default=10_000, help="sessions (default 10,000)")
    sched.add_argument("--agents", type=int, default=1_000, help="simulated agents (default 1,000)")
    sched.add_argument(
        "--orders",
        default=",".join(scheduler.ORDERS),
        help="comma-separated queue orders, each run on fresh state (default: all four)",
    )
    sched.add_argument("--in-flight", type=int, default=64, help="requests in flight at once")
    sched.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="pace the requests at this many per second (default: as fast as they are answered)",
    )
    sched.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    sched.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run the manager under cProfile and write one profile per run into DIR",
    )
    sched.add_argument(
        "--pg-dsn",
        default=os.environ.get("BERTH_BENCH_PG_DSN", DEFAULT_PG_ADMIN_DSN),
        help="a PostgreSQL server to create the scratch databases on (BERTH_BENCH_PG_DSN)",
    )


def _progress(message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


def _run_scheduler(args: argparse.Namespace) -> None:
    orders = tuple(o.strip() for o in args.orders.split(",") if o.strip())
    if unknown := set(orders) - set(scheduler.ORDERS):
        sys.exit(f"unknown queue orders: {', '.join(sorted(unknown))}")
    if args.requests < 1 or args.agents < 1 or args.in_flight < 1:
        sys.exit("--requests, --agents and --in-flight must be at least 1")
    options = scheduler.Options(
        requests=args.requests,
        agents=args.agents,
        orders=orders,
        in_flight=args.in_flight,
        rate=max(args.rate, 0.0),
        pg_admin_dsn=args.pg_dsn,
        profile_dir=args.profile,
    )
    backends = list(scheduler.BACKENDS) if args.store == "both" else [args.store]
    print(
        f"scheduler benchmark: {options.requests} requests onto {options.agents} simulated agents,"
        f" {options.in_flight} in flight"
        + (f", paced at {options.rate:.0f}/s" if options.rate > 0 else "")
        + "; targets (information only): placements ≥ "
        f"{scheduler.TARGET_PLACEMENTS['sqlite']:.0f}/s on SQLite, ≥ "
        f"{scheduler.TARGET_PLACEMENTS['postgres']:.0f}/s on PostgreSQL, p99 request → "
        f"placement on the stream < {scheduler.TARGET_P99_MS:.0f} ms",
        flush=True,
    )
    results = asyncio.run(scheduler.run_all(backends, options, _progress))
    print(scheduler.summary_table(results), flush=True)
    if args.json:
        write_json(args.json, scheduler.as_json(options, results))
        print(f"figures written to {args.json}")


async def _backbone(options: Options, backends: list[str]) -> list[BackendResult]:
    def progress(message: str) -> None:
        print(f"  ... {message}", file=sys.stderr, flush=True)

    results = []
    for backend in backends:
        result = await run_backend(backend, options, progress)
        print(format_result(result), flush=True)
        results.append(result)
    return results


def main() -> None:
    args = _parser().parse_args()
    # This process plays the manager (and in replays the projection process): SQLite set
    # up as theirs is.
    sqlite_library.configure()
    if args.benchmark == "scheduler":
        _run_scheduler(args)
        return
    if args.benchmark == "agent":
        agent_cli.run_from_args(args, _progress)
        return
    if args.benchmark == "gateway":
        gateway.run_from_args(args, _progress)
        return
    if args.events < 100 or args.rate <= 0 or args.lag_seconds <= 0 or args.rounds < 1:
        sys.exit(
            "--events must be at least 100, --rounds at least 1; --rate and --lag-seconds above 0"
        )
    options = Options(
        events=args.events,
        rate=args.rate,
        lag_seconds=args.lag_seconds,
        singles=min(2000, args.events),
        pg_admin_dsn=args.pg_dsn,
        relay=args.relay,
        profile_dir=args.profile,
        rounds=args.rounds,
    )
    backends = list(BACKENDS) if args.store == "both" else [args.store]
    print(header(options, backends), flush=True)
    results = asyncio.run(_backbone(options, backends))
    if args.json:
        write_json(args.json, as_json(options, results))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
