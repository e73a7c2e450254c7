"""Podman, run with the project's ``containers.conf``, uses the runtime, cgroup manager and
ulimits that work on Berth's hosts (see deploy/podman/containers.conf)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CONTAINERS_CONF = Path(__file__).resolve().parents[2] / "deploy" / "podman" / "containers.conf"

pytestmark = pytest.mark.skipif(
    shutil.which("podman") is None, reason="podman is not installed on this machine"
)


def podman(*args: str) -> str:
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    result = subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"podman {args[0]} failed: {result.stderr}"
    return result.stdout


def podman_info() -> dict[str, Any]:
    info: dict[str, Any] = json.loads(podman("info", "--format", "json"))
    return info


def test_project_config_selects_runc_and_cgroupfs() -> None:
    host = podman_info()["host"]

    assert host["ociRuntime"]["name"] == "runc"
    assert host["cgroupManager"] == "cgroupfs"


def test_project_config_logs_podman_events_to_a_file() -> None:
    assert podman_info()["host"]["eventLogger"] == "file"


def test_a_container_starts_with_the_project_ulimits() -> None:
    # No image is needed: the host's own root, under a throwaway overlay, is the
    # container's filesystem. Podman's default ulimits make this start fail on hosts
    # whose hard limits are lower.
    limits = podman("run", "--rm", "--network=none", "--rootfs", "/:O", "cat", "/proc/self/limits")

    # /proc/self/limits: a 26-column name, then the soft limit, the hard limit and the unit.
    hard = {line[:26].strip(): line[26:].split()[1] for line in limits.splitlines()[1:]}
    assert hard["Max open files"] == "1024"
    assert hard["Max processes"] == "1024"
