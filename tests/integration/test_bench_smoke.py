"""The backbone benchmark runs to the end and reports every figure (it is never judged on time)."""

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
        figures_file, "--store", "both", "--events", "500", "--rate", "200", "--lag-seconds", "1"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "== SQLite ==" in done.stdout
    assert "backbone / slower raw figure" in done.stdout

    figures = json.loads(figures_file.read_text())
    sqlite = figures["backends"]["sqlite"]
    assert sqlite["skipped"] is None
    assert sqlite["store"]["batched_eps"] > 0
    assert sqlite["store"]["single_eps"] > 0
    assert sqlite["jetstream"]["plain_mps"] > 0
    assert sqlite["end_to_end"]["events"] == 500
    assert sqlite["end_to_end"]["eps"] > 0
    lag = sqlite["lag"]
    assert lag["events"] == 200
    assert lag["lag"]["total"]["count"] == 200
    assert lag["lag"]["total"]["p50_ms"] <= lag["lag"]["total"]["p99_ms"]
    assert lag["lag"]["to_stream"]["count"] == 200
    assert sqlite["targets"]["throughput_ratio"] > 0
    # The lag target names 1,000 events/s: at another rate it is not judged.
    assert sqlite["targets"]["lag_target_met"] is None

    postgres = figures["backends"]["postgres"]
    if postgres["skipped"] is not None:
        assert "PostgreSQL" in postgres["skipped"]
        assert "skipped: PostgreSQL" in done.stdout
    else:
        assert postgres["end_to_end"]["events"] == 500
        assert postgres["lag"]["lag"]["total"]["count"] == 200
