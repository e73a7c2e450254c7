"""The container proof's harness: a root filesystem sees what is granted to it and nothing more.

The proof itself needs a GPU (`scripts/gpu_container_proof.py`); these tests run its harness, in a
chroot and in Podman, with a plain program and a plain file in place of a CUDA program and the
driver.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.agent.accelerators.plugin import ContainerDevices, DeviceFile, Mount
from tests.integration.agent.podman_cluster import podman_missing

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
import gpu_container_proof as proof

UNSHARE = shutil.which("unshare")
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or UNSHARE is None or shutil.which("cat") is None,
    reason="needs root, unshare and cat (mount namespaces and chroot)",
)
LIBRARY = "/usr/lib/x86_64-linux-gnu/libdriver.so.1"


@pytest.fixture
def image(tmp_path: Path) -> Path:
    cat = tmp_path / "probe-0"
    shutil.copy2(str(shutil.which("cat")), cat)
    root = tmp_path / "root"
    proof._image({"plain": cat}, root, [])
    return root


def granting(tmp_path: Path) -> ContainerDevices:
    driver = tmp_path / "driver"
    driver.write_text("the granted driver\n")
    return ContainerDevices(
        (DeviceFile("/dev/null", "/dev/null"),), {"ONLY": "this"}, (Mount(str(driver), LIBRARY),)
    )


def test_a_granted_mount_is_there_and_only_with_the_grant(tmp_path: Path, image: Path) -> None:
    options = granting(tmp_path)
    assert UNSHARE is not None

    without = proof._run(UNSHARE, proof._script(options, image, ["/probe-0", LIBRARY], False))
    granted = proof._run(UNSHARE, proof._script(options, image, ["/probe-0", LIBRARY], True))

    assert without[0] != 0 and "No such file" in without[1]
    assert granted == (0, "the granted driver")


def test_the_program_gets_the_plugin_environment_and_nothing_else(
    tmp_path: Path, image: Path
) -> None:
    assert UNSHARE is not None
    script = proof._script(granting(tmp_path), image, ["/probe-0", "/proc/self/environ"], True)

    rc, output = proof._run(UNSHARE, script)

    assert rc == 0
    assert output.split("\0") == ["ONLY=this", ""]


def test_podman_gets_the_grant_as_devices_read_only_mounts_and_environment() -> None:
    options = ContainerDevices(
        (DeviceFile("/dev/nvidia3", "/dev/nvidia3"),),
        {"CUDA_VISIBLE_DEVICES": "0"},
        (Mount("/usr/lib/libcuda.so.1", "/usr/lib/libcuda.so.1"),),
    )

    assert proof.podman_args(options) == [
        "--device",
        "/dev/nvidia3:/dev/nvidia3:rwm",
        "--mount",
        "type=bind,source=/usr/lib/libcuda.so.1,target=/usr/lib/libcuda.so.1,readonly=true",
        "--env",
        "CUDA_VISIBLE_DEVICES=0",
    ]


@pytest.mark.skipif(podman_missing() is not None, reason=str(podman_missing()))
def test_in_podman_the_grant_is_there_and_only_with_it(tmp_path: Path, image: Path) -> None:
    options = granting(tmp_path)
    tar = subprocess.run(["tar", "-C", str(image), "-c", "."], capture_output=True, check=True)
    name = f"localhost/berth-proof-test-{os.getpid()}:latest"
    subprocess.run(["podman", "import", "-", name], input=tar.stdout, check=True)
    try:

        def run(args: list[str], command: list[str]) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["podman", "run", "--rm", "--network=none", *args, name, *command],
                capture_output=True,
                text=True,
                timeout=120,
            )

        without = run([], ["/probe-0", LIBRARY])
        granted = run(proof.podman_args(options), ["/probe-0", LIBRARY])
        environ = run(proof.podman_args(options), ["/probe-0", "/proc/self/environ"])
    finally:
        subprocess.run(["podman", "rmi", "-f", name], capture_output=True)

    assert without.returncode != 0 and "No such file" in without.stdout + without.stderr
    assert (granted.returncode, granted.stdout) == (0, "the granted driver\n")
    assert "ONLY=this" in environ.stdout.split("\0")
