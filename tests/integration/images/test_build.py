"""Berth's images built for real with Podman, run, and read back through the inventory.

berth-small is built (when missing) by the ``small_image`` fixture in a second. berth-base and
berth-python take minutes and a Debian mirror: those tests run only with BERTH_TEST_IMAGES=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import podman
import pytest

from images.build import build_images
from images.inventory import container_image_ref, list_images

CONTAINERS_CONF = Path(__file__).resolve().parents[3] / "deploy" / "podman" / "containers.conf"

pytestmark = pytest.mark.skipif(
    shutil.which("podman") is None, reason="podman is not installed on this machine"
)

# berth-base and berth-python: minutes of debootstrap and apt, so only when asked for.
needs_image_builds = pytest.mark.skipif(
    os.environ.get("BERTH_TEST_IMAGES") != "1",
    reason="builds berth-base and berth-python (minutes, needs a Debian mirror); "
    "set BERTH_TEST_IMAGES=1",
)


def podman_run(image: str, *command: str) -> str:
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    result = subprocess.run(
        ["podman", "run", "--rm", "--network=none", container_image_ref(image), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"podman run {image} failed: {result.stderr}"
    return result.stdout


def test_berth_small_runs_a_shell(small_image: str) -> None:
    assert podman_run(small_image, "sh", "-c", "echo 42") == "42\n"


def test_berth_small_has_the_usual_commands_and_users(small_image: str) -> None:
    out = podman_run(
        small_image, "sh", "-c", "id -un; head -c 3 /dev/zero | wc -c; env | grep ^PATH"
    )

    assert out.splitlines() == [
        "root",
        "3",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]


def test_the_inventory_lists_berth_small_with_its_labels(
    small_image: str, podman_client: podman.PodmanClient
) -> None:
    found = {info.name: info for info in list_images(podman_client)}

    small = found[small_image]
    assert small.kind == "test"
    assert small.language == "shell"
    assert small.min_resources == {"cpu": "0.1", "mem": "16m"}
    assert small.service_ports == ()
    assert 0 < small.size < 10_000_000
    assert podman_client.images.get(container_image_ref(small_image)).id == small.id


def test_building_again_keeps_the_image_there_is(small_image: str) -> None:
    lines: list[str] = []

    (result,) = build_images([small_image], say=lines.append)

    assert result.outcome == "skipped"
    assert result.reference == "localhost/berth-small:latest"
    assert "skipped" in lines[0]


@pytest.mark.images
@needs_image_builds
@pytest.mark.timeout(900)
def test_berth_base_builds_from_debootstrap(podman_client: podman.PodmanClient) -> None:
    (result,) = build_images(["base"], force=True)

    assert result.outcome == "built"
    assert podman_run("berth-base", "cat", "/etc/debian_version").startswith("12.")
    assert podman_run("berth-base", "sh", "-c", "echo $LANG") == "C.UTF-8\n"
    base = {info.name: info for info in list_images(podman_client)}["berth-base"]
    assert (base.kind, base.id) == ("base", result.image_id)


@pytest.mark.images
@needs_image_builds
@pytest.mark.timeout(900)
def test_berth_python_builds_with_numpy_scipy_and_pandas(
    podman_client: podman.PodmanClient,
) -> None:
    results = build_images(["python"], force=True)

    assert (results[-1].name, results[-1].outcome) == ("berth-python", "built")
    versions = podman_run(
        "berth-python",
        "python3",
        "-c",
        "import numpy, scipy, pandas; print(numpy.__version__, pandas.__version__)",
    )
    assert len(versions.split()) == 2
    python = {info.name: info for info in list_images(podman_client)}["berth-python"]
    assert (python.kind, python.language) == ("python", "python")
    assert python.min_resources == {"cpu": "0.5", "mem": "256m"}
