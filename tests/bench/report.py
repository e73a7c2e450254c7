"""The backbone benchmark's figures: a table per store backend, and the same as JSON.

The targets are printed as information. A benchmark never fails on time: the
machine it runs on, and what else runs there, decide the figures as much as the
code does.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.backbone import BackendResult, EndToEnd, LagRun, Options, Round
from tests.bench.cpu import CpuUse
from tests.bench.lag import Percentiles

#: backbone throughput at least this share of the slower raw figure
THROUGHPUT_TARGET = 0.5
#: p99 lag from store commit to read model committed, at TARGET_RATE events/s
LAG_P99_TARGET_MS = 50.0
TARGET_RATE = 1000.0


def slower_raw(round_: Round) -> tuple[str, float]:
    """The slower of a round's two raw figures the backbone is built from, with its name."""
    store = ("store, batches of 100", round_.store.batched_eps)
    stream = ("JetStream publish_async", round_.jetstream.plain_mps)
    return min(store, stream, key=lambda named: named[1])


def round_ratio(round_: Round) -> float:
    """The round's backbone throughput as a share of the slower raw figure measured before it."""
    return round_.end_to_end.eps / slower_raw(round_)[1]


def median_round(result: BackendResult) -> Round | None:
    """The round whose ratio is the median (the lower one of an even number of rounds)."""
    if not result.rounds:
        return None
    ranked = sorted(result.rounds, key=round_ratio)
    return ranked[(len(ranked) - 1) // 2]


def throughput_ratio(result: BackendResult) -> float | None:
    """The median of the rounds' ratios: the figure the target is read against."""
    middle = median_round(result)
    return None if middle is None else round_ratio(middle)


def lag_target_met(lag: LagRun) -> bool | None:
    """None where the run was not at the rate the target names."""
    if lag.rate != TARGET_RATE:
        return None
    return lag.lag.total.p99_ms < LAG_P99_TARGET_MS


def _met(flag: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "not applicable at this rate"}[flag]


def _percentiles(name: str, p: Percentiles) -> str:
    return (
        f"  {name:<38} p50 {p.p50_ms:7.1f}  p90 {p.p90_ms:7.1f}  p99 {p.p99_ms:7.1f}"
        f"  max {p.max_ms:7.1f} ms"
    )


def _cpu(cpu: CpuUse, events: int) -> str:
    """CPU time per event of each process: what the cores are spent on."""
    listed = sum(cpu.processes.values())
    shares = {**cpu.processes, "others": max(0.0, cpu.machine_busy_s - listed)}
    parts = [f"{name} {seconds / events * 1e6:.0f}" for name, seconds in shares.items()]
    return (
        f"  CPU µs per event: {', '.join(parts)}; total {cpu.machine_busy_s / events * 1e6:.0f}"
        f" (machine {cpu.machine_busy_share:.0%} busy, {cpu.cores} cores, over {cpu.wall_s:.1f}s)"
    )


def format_result(result: BackendResult) -> str:
    title = {"sqlite": "SQLite", "postgres": "PostgreSQL"}.get(result.backend, result.backend)
    lines = [f"== {title} =="]
    if result.skipped:
        lines.append(f"  skipped: {result.skipped}")
        return "\n".join(lines)
    singles, lag, middle = result.single_saves, result.lag, median_round(result)
    assert singles and lag and middle
    rounds = result.rounds
    row = "  {:<38} {:>10}  {}"

    def each(values: list[float]) -> str:
        return ", ".join(f"{v:,.0f}" for v in values)

    stores = [r.store.batched_eps for r in rounds]
    plain = [r.jetstream.plain_mps for r in rounds]
    headed = [r.jetstream.with_headers_mps for r in rounds]
    e2e = [r.end_to_end.eps for r in rounds]
    lines += [
        f"  median of {len(rounds)} rounds, each: raw store, raw JetStream, then end to end",
        row.format(
            "raw store, batches of 100",
            f"{statistics.median(stores):,.0f}",
            f"events/s ({each(stores)})",
        ),
        row.format("raw store, single saves", f"{singles.eps:,.0f}", "events/s (reference)"),
        row.format(
            "raw JetStream, publish_async",
            f"{statistics.median(plain):,.0f}",
            f"msgs/s ({each(plain)})",
        ),
        row.format(
            "  with the relay's headers",
            f"{statistics.median(headed):,.0f}",
            f"msgs/s (reference; {each(headed)})",
        ),
        row.format(
            "backbone end to end",
            f"{statistics.median(e2e):,.0f}",
            f"events/s ({middle.end_to_end.events:,} events; {each(e2e)})",
        ),
    ]
    ratio = round_ratio(middle)
    met = ratio >= THROUGHPUT_TARGET
    lines.append(
        f"  backbone / slower raw figure, each round: "
        f"{', '.join(f'{round_ratio(r):.2f}' for r in rounds)}; median {ratio:.2f}"
        f"  target >= {THROUGHPUT_TARGET:.2f}: {_met(met)}"
    )
    lines.append(f"  the median round (slower raw figure: {slower_raw(middle)[0]}):")
    lines.append(_stages(middle.end_to_end))
    lines.append("  " + _cpu(middle.end_to_end.cpu, middle.end_to_end.events))
    lines.append(
        f"  lag at {lag.rate:,.0f} events/s: {lag.events:,} events in {lag.saves:,} saves"
        f" ({lag.events / max(lag.saves, 1):.1f} per save), {lag.achieved_rate:,.0f} events/s"
        " achieved"
    )
    lines.append(_percentiles("store commit -> read model committed", lag.lag.total))
    lines.append(_percentiles("  store commit -> on the stream", lag.lag.to_stream))
    lines.append(_percentiles("  on the stream -> read model committed", lag.lag.to_read_model))
    lines.append(
        f"  p99 lag target < {LAG_P99_TARGET_MS:.0f} ms at {TARGET_RATE:,.0f} events/s:"
        f" {_met(lag_target_met(lag))}"
    )
    lines.append(_cpu(lag.cpu, lag.events))
    if result.replay is not None:
        replay = result.replay
        lines.append(
            row.format(
                "the projection alone, replaying",
                f"{replay.eps:,.0f}",
                f"events/s ({replay.events:,} events into a fresh read store)",
            )
        )
        lines.append(_cpu(replay.cpu, replay.events))
    return "\n".join(lines)


def _stages(e2e: EndToEnd) -> str:
    return (
        f"    last event stored after {e2e.stored_s:.2f}s, on the stream after"
        f" {e2e.on_stream_s:.2f}s, in the read model after {e2e.projected_s:.2f}s"
    )


def header(options: Options, backends: list[str]) -> str:
    relay = (
        "in the manager process"
        if options.relay == "manager"
        else "a process of its own (python -m services.manager relay)"
    )
    return (
        f"Berth backbone benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}\n"
        f"{options.events:,} events end to end; lag at {options.rate:,.0f} events/s for"
        f" {options.lag_seconds:g}s; backends: {', '.join(backends)}; relay: {relay}\n"
        "read-model commit times: clocked in the projection process as each batch's"
        " COMMIT returns (no polling)"
    )


def _plain(value: Any) -> Any:
    """Dataclasses to dicts, with NaN (no samples) as null so the JSON stays standard."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def as_json(options: Options, results: list[BackendResult]) -> dict[str, Any]:
    backends: dict[str, Any] = {}
    for result in results:
        figures = _plain(result)
        middle = median_round(result)
        figures["targets"] = (
            None
            if middle is None or result.lag is None
            else {
                "slower_raw_figure": slower_raw(middle)[0],
                "slower_raw_eps": slower_raw(middle)[1],
                "end_to_end_eps": middle.end_to_end.eps,
                "throughput_ratio": round_ratio(middle),
                "throughput_ratio_rounds": [round_ratio(r) for r in result.rounds],
                "throughput_ratio_target": THROUGHPUT_TARGET,
                "throughput_target_met": round_ratio(middle) >= THROUGHPUT_TARGET,
                "lag_p99_ms": result.lag.lag.total.p99_ms,
                "lag_p99_target_ms": LAG_P99_TARGET_MS,
                "lag_target_rate": TARGET_RATE,
                "lag_target_met": lag_target_met(result.lag),
            }
        )
        backends[result.backend] = figures
    options_json = _plain(options)
    options_json.pop("pg_admin_dsn", None)
    return {
        "benchmark": "backbone",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "options": options_json,
        "backends": backends,
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
