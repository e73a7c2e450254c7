"""What the gateway benchmark found, and how it is printed."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.bench.cpu import CpuUse


@dataclass
class RunResult:
    backend: str
    requests: int
    #: ``real``, or ``stub``: the gateway alone, a stub answering for the manager
    manager: str = "real"
    skipped: str | None = None
    created: int = 0
    #: requests not answered 201, by error code
    refused: dict[str, int] = field(default_factory=dict)
    creates_per_s: float = 0.0
    #: request sent → answer received (ms)
    latency_ms: dict[str, float] = field(default_factory=dict)
    store_batched_eps: float = 0.0
    store_single_eps: float = 0.0
    cpu: CpuUse | None = None
    #: CPU seconds of the lean client's processes (in ``cpu`` as ``bench`` with the SDK)
    client_cpu_s: float = 0.0
    client: str = "lean"
    clients: int = 1
    #: 1-minute load average of the machine before and after the measured requests
    load: tuple[float, float] = (0.0, 0.0)
    log_dir: str = ""


def format_result(result: RunResult) -> str:
    title = {"sqlite": "SQLite", "postgres": "PostgreSQL"}.get(result.backend, result.backend)
    if result.manager == "stub":
        title = "the gateway alone (a stub answers for the manager)"
    head = f"== {title} =="
    if result.skipped:
        return f"{head}\n  skipped: {result.skipped}"
    lat = result.latency_ms
    lines = [
        head,
        f"  signed creates        {result.creates_per_s:8.0f} /s  ({result.created} created)",
    ]
    if result.refused:
        codes = ", ".join(f"{n} {code}" for code, n in sorted(result.refused.items()))
        lines.append(f"  not created           {codes}")
    if lat:
        lines.append(
            f"  request → 201         p50 {lat['p50']:7.1f}  p99 {lat['p99']:7.1f}"
            f"  max {lat['max']:7.1f} ms"
        )
    if result.manager == "real":
        lines.append(
            f"  raw store saves       {result.store_single_eps:8.0f} /s one at a time,"
            f" {result.store_batched_eps:.0f} /s in batches of 100"
        )
    if result.cpu is not None and result.created:
        seconds = dict(result.cpu.processes)
        if result.client == "lean":
            seconds["client"] = result.client_cpu_s
        per = {n: s / result.created * 1e6 for n, s in seconds.items()}
        parts = ", ".join(f"{n} {v:.0f}" for n, v in per.items())
        client = (
            f"client: {result.clients} lean process{'es' if result.clients > 1 else ''}"
            if result.client == "lean"
            else "client: the SDK, in this process"
        )
        lines.append(f"  CPU µs per create     {parts}")
        before, after = result.load
        lines.append(
            f"                        ({client}; machine {result.cpu.machine_busy_share:.0%} busy"
            f" over {result.cpu.wall_s:.1f}s, load average {before:.1f} → {after:.1f})"
        )
    if result.log_dir:
        lines.append(f"  logs in {result.log_dir}")
    return "\n".join(lines)
