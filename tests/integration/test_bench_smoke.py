"""The benchmarks run to the end and report every figure (they are never judged on time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.bench.projection_process import REPO_ROOT


def _run_bench(json_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.bench", "backbone", "--json", str(json_path), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_backbone_benchmark_reports_its_figures(tmp_path: Path) -> None:
    figures_file = tmp_path / "figures.json"
    done = _run_bench(
        figures_file,
        *("--store", "both", "--events", "500", "--rounds", "2"),
        *("--rate", "200", "--lag-seconds", "1"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== SQLite ==" in done.stdout
    assert "backbone / slower raw figure" in done.stdout

    figures = json.loads(figures_file.read_text())
    sqlite = figures["backends"]["sqlite"]
    assert sqlite["skipped"] is None
    assert sqlite["single_saves"]["eps"] > 0
    assert len(sqlite["rounds"]) == 2
    for round_ in sqlite["rounds"]:
        assert round_["store"]["batched_eps"] > 0
        assert round_["jetstream"]["plain_mps"] > 0
        assert round_["end_to_end"]["events"] == 500
        assert round_["end_to_end"]["eps"] > 0
    lag = sqlite["lag"]
    assert lag["events"] == 200
    assert lag["lag"]["total"]["count"] == 200
    assert lag["lag"]["total"]["p50_ms"] <= lag["lag"]["total"]["p99_ms"]
    assert lag["lag"]["to_stream"]["count"] == 200
    targets = sqlite["targets"]
    assert len(targets["throughput_ratio_rounds"]) == 2
    # With two rounds the median round is the one with the lower ratio.
    assert targets["throughput_ratio"] == min(targets["throughput_ratio_rounds"]) > 0
    # The lag target names 1,000 events/s: at another rate it is not judged.
    assert sqlite["targets"]["lag_target_met"] is None
    # The replay takes in the whole stream: every round's events, the lag run's, the warm-up's.
    assert sqlite["replay"]["events"] > 2 * 500 + 200
    assert sqlite["replay"]["eps"] > 0
    assert "the projection alone, replaying" in done.stdout

    postgres = figures["backends"]["postgres"]
    if postgres["skipped"] is not None:
        assert "PostgreSQL" in postgres["skipped"]
        assert "skipped: PostgreSQL" in done.stdout
    else:
        assert [r["end_to_end"]["events"] for r in postgres["rounds"]] == [500, 500]
        assert postgres["lag"]["lag"]["total"]["count"] == 200
        assert postgres["replay"]["events"] > 2 * 500 + 200


def test_scheduler_benchmark_reports_its_figures(tmp_path: Path) -> None:
    figures_file = tmp_path / "scheduler.json"
    small = [
        "--store",
        "sqlite",
        "--orders",
        "fifo,priority",
        "--requests",
        "200",
        "--agents",
        "20",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "scheduler", "--json", str(figures_file), *small],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== SQLite, fifo ==" in done.stdout
    assert "== SQLite, priority ==" in done.stdout
    runs = json.loads(figures_file.read_text())["runs"]
    assert [(r["backend"], r["order"]) for r in runs] == [
        ("sqlite", "fifo"),
        ("sqlite", "priority"),
    ]
    for run in runs:
        assert run["placed"] == 200
        assert run["placements_per_s"] > 0
        assert run["request_rate"] > 0
        assert run["to_stream_ms"]["p50"] <= run["to_stream_ms"]["p99"]
        assert run["peak_rss_mb"] > 0
        assert run["targets"]["placements_per_s"] == 2000.0


def test_agent_benchmark_reports_its_figures(tmp_path: Path, small_image: str) -> None:
    figures_file = tmp_path / "agent.json"
    tiny = ["--sessions", "3", "--warmup", "0", "--batch", "5", "--concurrency", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "agent", "--json", str(figures_file), *tiny],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== (a) start latency: 3 of each" in done.stdout
    assert "Berth / raw at p99" in done.stdout
    assert "Berth / best raw (2 at a time)" in done.stdout

    figures = json.loads(figures_file.read_text())
    latency = figures["latency_ms"]
    for kind in ("raw", "raw_api", "berth"):
        assert 0 < latency[kind]["p50"] <= latency[kind]["p99"]
    assert "request → placed (decided)" in figures["stages_ms"]
    throughput = figures["throughput"]
    assert throughput["berth_results"] == {"success": 5}
    assert throughput["raw_per_s"]["2"] > 0
    assert throughput["berth_per_s"] > 0
    assert figures["targets"]["latency_ratio_p50"] > 0
    assert figures["targets"]["throughput_ratio"] > 0
