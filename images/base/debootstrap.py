"""berth-base's root filesystem: Debian minbase from debootstrap, made fit for containers."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from images.errors import BuildError, run_step
from images.podman_cli import PodmanCli
from images.settings import DEBIAN_SUITE, ImageBuildSettings

# Paths debootstrap copies from the host or that Podman provides per container: a stale copy
# inside the image would only mislead.
HOST_FILES = ("etc/hostname", "etc/hosts", "etc/resolv.conf")

# Services must not start while apt installs them during an image build (there is no init).
POLICY_RC_D = "#!/bin/sh\nexit 101\n"


def check_tools() -> None:
    if shutil.which("debootstrap") is None:
        raise BuildError(
            "debootstrap is not installed: berth-base is made with it "
            "(apt-get install debootstrap, or `just setup`)"
        )
    if os.geteuid() != 0:
        raise BuildError("berth-base must be built as root (debootstrap creates device files)")


def bootstrap(settings: ImageBuildSettings, rootfs: Path, *, verbose: bool) -> None:
    run_step(
        [
            "debootstrap",
            "--variant=minbase",
            DEBIAN_SUITE,
            str(rootfs),
            settings.debian_mirror,
        ],
        what=f"debootstrap {DEBIAN_SUITE} from {settings.debian_mirror}",
        verbose=verbose,
    )


def make_fit_for_containers(settings: ImageBuildSettings, rootfs: Path) -> None:
    mirror, security = settings.debian_mirror, settings.debian_security_mirror
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {mirror} {DEBIAN_SUITE} main\n"
        f"deb {mirror} {DEBIAN_SUITE}-updates main\n"
        f"deb {security} {DEBIAN_SUITE}-security main\n"
    )
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)
    for name in HOST_FILES:
        (rootfs / name).unlink(missing_ok=True)
    # Package lists and downloaded packages are stale by the time the image is used.
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / cache).glob("*"):
            if path.is_file():
                path.unlink()


def unmount_under(rootfs: Path) -> None:
    """Unmounts what a failed debootstrap left mounted inside the root filesystem (/proc,
    /sys), so that removing the directory cannot reach the host's."""
    prefix = f"{rootfs.resolve()}/"
    with open("/proc/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], check=False)


def import_rootfs(
    podman: PodmanCli, rootfs: Path, reference: str, *, changes: list[str], message: str
) -> None:
    """``tar | podman import``: the tree goes to Podman as a stream, no second copy on disk."""
    # Device nodes and kernel file systems come from the runtime in each container.
    excludes = ["--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*"]
    with tempfile.TemporaryFile() as tar_errors:
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", *excludes, "-C", str(rootfs), "-c", "."],
            stdout=subprocess.PIPE,
            stderr=tar_errors,
        )
        assert tar.stdout is not None
        try:
            podman.import_tar(tar.stdout, reference, changes=changes, message=message)
        finally:
            tar.stdout.close()
            status = tar.wait()
        if status != 0:
            tar_errors.seek(0)
            raise BuildError(f"tar of {rootfs} failed: {tar_errors.read().decode().strip()}")
