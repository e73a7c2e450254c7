"""``python -m tests.bench backbone``: the event backbone's figures.

Options: ``[--store sqlite|postgres|both] [--events N] [--rate R] [--json FILE]``.

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
        "--relay",
        choices=["manager", "process"],
        default="manager",
        help="run the relay in the saving process, as the manager does (default), or alone",
    )
    backbone.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    backbone.add_argument(
        "--pg-dsn",
        default=os.environ.get("BERTH_BENCH_PG_DSN", DEFAULT_PG_ADMIN_DSN),
        help="a PostgreSQL server to create the scratch databases on (BERTH_BENCH_PG_DSN)",
    )
    return parser


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
    if args.events < 100 or args.rate <= 0 or args.lag_seconds <= 0:
        sys.exit("--events must be at least 100; --rate and --lag-seconds above 0")
    options = Options(
        events=args.events,
        rate=args.rate,
        lag_seconds=args.lag_seconds,
        singles=min(2000, args.events),
        pg_admin_dsn=args.pg_dsn,
        relay=args.relay,
    )
    backends = list(BACKENDS) if args.store == "both" else [args.store]
    print(header(options, backends), flush=True)
    results = asyncio.run(_backbone(options, backends))
    if args.json:
        write_json(args.json, as_json(options, results))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
