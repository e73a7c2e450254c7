"""The container proof's harness: a root filesystem sees what is granted to it and nothing more.

The proof itself needs a GPU (`scripts/gpu_container_proof.py`); these tests run its harness with
a plain program and a plain file in place of a CUDA program and the driver.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from services.agent.accelerators.plugin import ContainerDevices, DeviceFile, Mount

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "scripts"))
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
