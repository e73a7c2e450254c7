"""The agent benchmark's figures: what each side includes, the figures, the ratios, as JSON too."""

from __future__ import annotations

import dataclasses
import os
import platform
from datetime import UTC, datetime
from typing import Any

from tests.bench.agent import (
    BATCH_COMMAND,
    LATENCY_TARGET,
    STAGES,
    THROUGHPUT_TARGET,
    AgentBenchResult,
    Options,
    Throughput,
)
from tests.bench.cpu import CpuUse
from tests.bench.scheduler import percentiles


def _met(flag: bool) -> str:
    return "met" if flag else "NOT met"


def header(options: Options) -> str:
    return (
        f"Berth agent benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}\n"
        f"image {options.image}; every container: cpu {options.cpu} (CFS quota, one core's"
        f" cpuset), memory {options.mem} without swap, pids limit, /dev/shm, network"
        f" {options.network}; store {options.store}"
    )


def _row(name: str, p: dict[str, float]) -> str:
    return (
        f"  {name:<44} p50 {p['p50']:7.1f}  p99 {p['p99']:7.1f}  mean {p['mean']:7.1f}"
        f"  max {p['max']:7.1f} ms"
    )


def format_latency(result: AgentBenchResult) -> list[str]:
    latency, options = result.latency, result.options
    raw, api, berth = (
        percentiles(latency.raw_ms),
        percentiles(latency.api_ms),
        percentiles(latency.berth_ms),
    )
    lines = [
        f"== (a) start latency: {len(latency.berth_ms)} of each, one at a time, interleaved"
        f" (after {options.warmup} warm-ups) ==",
        "  every container runs what Berth runs for an interactive session (a shell that waits"
        " for a signal)",
        "  raw:     wall time of `podman run -d` (a podman process: config, create, init,"
        " start, prints the id)",
        "  raw API: create + start through the agent's Podman API service with podman-py",
        "  Berth:   request sent → SessionRunning arriving from BERTH_EVENTS (admission,"
        " scheduling, relay, the agent's create/init/start, two facts ingested, relay)",
    ]
    if not berth:
        return [*lines, "  no samples"]
    lines += [
        _row("raw `podman run -d`", raw),
        _row("raw Podman API create + start", api),
        _row("Berth request → RUNNING on the stream", berth),
    ]
    for name in ("p50", "p99"):
        ratio = berth[name] / raw[name]
        lines.append(
            f"  Berth / raw at {name}: {ratio:.2f}  (target ≤ {LATENCY_TARGET:.2f}:"
            f" {_met(ratio <= LATENCY_TARGET)}); Berth / raw API {berth[name] / api[name]:.2f}"
        )
    lines.append("  where Berth's start goes (per session, ms):")
    for name, _, _ in STAGES:
        samples = latency.stages.get(name)
        if samples:
            lines.append(_row(f"  {name}", percentiles(samples)))
    if latency.agent_ms:
        lines.append("  the agent's own account (its log; Podman API calls through podman-py):")
        for part, title in AGENT_PARTS:
            if latency.agent_ms.get(part):
                lines.append(_row(f"  {title}", percentiles(latency.agent_ms[part])))
    return lines


AGENT_PARTS = (
    ("total", "decision taken up → container started"),
    ("create", "  create (POST, then inspect)"),
    ("init", "  init (runc create) + inspect"),
    ("start", "  start"),
)


def _cpu(cpu: CpuUse | None, count: int) -> str:
    """CPU milliseconds per container of each process measured, and of the rest of the machine."""
    if cpu is None:
        return ""
    listed = sum(cpu.processes.values())
    shares = {**cpu.processes, "rest of the machine": max(0.0, cpu.machine_busy_s - listed)}
    parts = [f"{name} {seconds / count * 1000:.0f}" for name, seconds in shares.items()]
    return (
        f"CPU ms per container: {', '.join(parts)}; total {cpu.machine_busy_s / count * 1000:.0f}"
        f" (machine {cpu.machine_busy_share:.0%} busy)"
    )


def format_throughput(result: AgentBenchResult) -> list[str]:
    t: Throughput = result.throughput
    n = result.options.batch
    lines = [
        f"== (b) throughput: {n} batch containers of `/bin/sh -c {BATCH_COMMAND}` ==",
        "  raw:   `podman run --rm` (create, start, wait, remove) at each concurrency",
        "  Berth: batch sessions requested at once; first request → last SessionTerminated"
        " on the stream (each also archives its output and reports three facts)",
    ]
    for concurrency, seconds in t.raw_s.items():
        lines.append(
            f"  raw, {concurrency:>2} at a time        {t.raw_rate(concurrency):6.2f} containers/s"
            f"  ({seconds:.1f}s)\n      {_cpu(t.raw_cpu.get(concurrency), n)}"
        )
    lines.append(
        f"  Berth                   {t.berth_rate:6.2f} sessions/s    ({t.berth_s:.1f}s;"
        f" at most {t.berth_peak_kernels} kernels at once; results "
        + ", ".join(f"{k} {v}" for k, v in sorted(t.berth_results.items()))
        + ")"
    )
    lines.append(f"      {_cpu(t.berth_cpu, n)}")
    lines.append(
        "      (the rest of the machine: conmon, runc, the kernel's work for the containers,"
        " and whatever else runs there)"
    )
    best, reference, ratio = t.best_raw(), t.raw_reference(), t.ratio()
    if best is not None and reference is not None and ratio is not None:
        if t.raw_again_s:
            again = t.count / t.raw_again_s
            lines.append(
                f"  raw, {best[0]:>2} at a time, again   {again:6.2f} containers/s"
                f"  ({t.raw_again_s:.1f}s, after Berth's run; the reference is the mean of both,"
                f" {reference:.2f}/s)"
            )
        lines.append(
            f"  Berth / best raw ({best[0]} at a time): {ratio:.2f}"
            f"  (target ≥ {THROUGHPUT_TARGET:.2f}: {_met(ratio >= THROUGHPUT_TARGET)})"
        )
    return lines


def format_result(result: AgentBenchResult) -> str:
    lines = format_latency(result) + format_throughput(result)
    lines.append(f"  Podman {result.podman_version}")
    return "\n".join(lines)


def as_json(result: AgentBenchResult) -> dict[str, Any]:
    latency = result.latency
    summary = {
        name: percentiles(samples)
        for name, samples in (
            ("raw", latency.raw_ms),
            ("raw_api", latency.api_ms),
            ("berth", latency.berth_ms),
        )
    }
    t = result.throughput
    options = dataclasses.asdict(result.options)
    options.pop("pg_admin_dsn", None)
    return {
        "benchmark": "agent",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "podman": result.podman_version,
        "options": options,
        "latency_ms": summary,
        "stages_ms": {name: percentiles(s) for name, s in latency.stages.items()},
        "agent_ms": {name: percentiles(s) for name, s in latency.agent_ms.items()},
        "samples_ms": {
            "raw": latency.raw_ms,
            "raw_api": latency.api_ms,
            "berth": latency.berth_ms,
            "stages": latency.stages,
        },
        "throughput": {
            "raw_per_s": {str(c): t.raw_rate(c) for c in t.raw_s},
            "raw_again_per_s": t.count / t.raw_again_s if t.raw_again_s else None,
            "raw_reference_per_s": t.raw_reference(),
            "berth_per_s": t.berth_rate,
            "berth_results": t.berth_results,
            "berth_peak_kernels": t.berth_peak_kernels,
            "cpu_ms_per_container": {
                "raw": {str(c): _cpu_json(cpu, t.count) for c, cpu in t.raw_cpu.items()},
                "berth": _cpu_json(t.berth_cpu, t.count),
            },
        },
        "targets": {
            "latency_ratio_max": LATENCY_TARGET,
            "latency_ratio_p50": _ratio(summary["berth"], summary["raw"], "p50"),
            "latency_ratio_p99": _ratio(summary["berth"], summary["raw"], "p99"),
            "throughput_ratio_min": THROUGHPUT_TARGET,
            "throughput_ratio": t.ratio(),
        },
    }


def _cpu_json(cpu: CpuUse | None, count: int) -> dict[str, float] | None:
    if cpu is None:
        return None
    listed = sum(cpu.processes.values())
    per = {name: seconds / count * 1000 for name, seconds in cpu.processes.items()}
    per["rest of the machine"] = max(0.0, cpu.machine_busy_s - listed) / count * 1000
    per["total"] = cpu.machine_busy_s / count * 1000
    return per


def _ratio(a: dict[str, float], b: dict[str, float], key: str) -> float | None:
    return a[key] / b[key] if a and b else None
