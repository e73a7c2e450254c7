"""berth-small's root filesystem, made from the machine's static busybox."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest

from images.errors import BuildError
from images.small.rootfs import check_busybox, is_static_elf, write_rootfs

BUSYBOX = Path("/bin/busybox")
needs_static_busybox = pytest.mark.skipif(
    not BUSYBOX.is_file() or not is_static_elf(BUSYBOX),
    reason="no static busybox at /bin/busybox (apt-get install busybox-static)",
)


@needs_static_busybox
def test_the_rootfs_has_a_shell_its_commands_and_the_files_they_expect(tmp_path: Path) -> None:
    target = tmp_path / "rootfs.tar"

    count = write_rootfs(BUSYBOX, target)

    with tarfile.open(target) as tar:
        members = {member.name: member for member in tar.getmembers()}
        passwd = tar.extractfile("etc/passwd")
        assert passwd is not None
        users = passwd.read().decode()
    for applet in ("sh", "echo", "cat", "sleep", "yes", "head", "dd", "env", "ls", "id"):
        assert members[f"bin/{applet}"].linkname == "busybox"
    assert members["bin/busybox"].size == BUSYBOX.stat().st_size
    assert members["bin/busybox"].mode == 0o755
    assert members["tmp"].mode == 0o1777
    assert members["usr/bin"].linkname == "../bin"
    assert users.startswith("root:x:0:0:")
    assert "etc/group" in members
    assert all(member.uid == 0 and member.gid == 0 for member in members.values())
    assert count == sum(1 for m in members.values() if m.name.startswith("bin/")) - 1


def test_a_dynamically_linked_busybox_is_refused(tmp_path: Path) -> None:
    dynamic = shutil.which("ls")
    assert dynamic is not None

    assert not is_static_elf(Path(dynamic))
    with pytest.raises(BuildError, match="not a statically linked executable"):
        check_busybox(Path(dynamic))


def test_a_missing_busybox_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="apt-get install busybox-static"):
        write_rootfs(tmp_path / "busybox", tmp_path / "rootfs.tar")


def test_a_file_that_is_no_executable_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "busybox"
    script.write_text("#!/bin/sh\n")

    with pytest.raises(BuildError, match="not a statically linked executable"):
        check_busybox(script)
