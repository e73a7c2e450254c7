"""The GPU proof script, run as on a GPU machine, with a fake pynvml first on its path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]

FAKE_PYNVML = """
from tests.unit.agent.accelerators.fake_nvml import FakeNvml, NVMLError, gpus

_nvml = FakeNvml(gpus({count}), init_error={error})


def __getattr__(name):
    return getattr(_nvml, name)
"""


def run_proof(tmp_path: Path, count: int, error: str = "None") -> subprocess.CompletedProcess[str]:
    (tmp_path / "pynvml.py").write_text(FAKE_PYNVML.format(count=count, error=error))
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "BERTH_CUDA_SHARES": "1"}
    return subprocess.run(
        [sys.executable, "scripts/gpu_proof.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_proof_prints_devices_slots_usage_and_container_options(tmp_path: Path) -> None:
    result = run_proof(tmp_path, count=2)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2 GPU(s) found:" in out
    assert "cuda:1  NVIDIA H100 80GB HBM3  memory=85899345920 bytes  shares=1" in out
    assert "slots: {'cuda.device': '2', 'cuda.shares': '2'}" in out
    assert "utilisation cuda:0: 10.0% busy, 1073741824 bytes used" in out
    assert '"grants":[{"device":"cuda:0","amount":"1","whole":true}]' in out
    assert "'CUDA_VISIBLE_DEVICES': '0'" in out


def test_proof_without_a_gpu_says_none_found(tmp_path: Path) -> None:
    result = run_proof(tmp_path, count=0, error="NVMLError('Driver Not Loaded')")

    assert result.returncode == 0, result.stderr
    assert "none found: NVML unavailable: Driver Not Loaded" in result.stdout


def test_proof_with_nvml_but_no_gpu(tmp_path: Path) -> None:
    result = run_proof(tmp_path, count=0)

    assert result.returncode == 0, result.stderr
    assert "none found: NVML reports no GPU" in result.stdout
