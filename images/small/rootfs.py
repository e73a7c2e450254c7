"""berth-small's root filesystem: one statically linked busybox and what a shell expects.

The tar is written entry by entry (owner root, fixed modes), so nothing is copied to disk but
the tar itself, and the build needs no chroot and no root privileges of its own.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from images.errors import BuildError

# ELF program header type of the dynamic loader's path: present only in dynamic executables.
_PT_INTERP = 3

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = """\
root:x:0:
nogroup:x:65534:
"""

# Directory, mode. /tmp and /var/tmp are shared scratch space (sticky, writable by all).
DIRECTORIES = (
    ("bin", 0o755),
    ("dev", 0o755),
    ("etc", 0o755),
    ("home", 0o755),
    ("proc", 0o555),
    ("root", 0o700),
    ("run", 0o755),
    ("sys", 0o555),
    ("tmp", 0o1777),
    ("usr", 0o755),
    ("var", 0o755),
    ("var/tmp", 0o1777),
)
# Programs are looked for in all the usual places; they all lead to /bin.
SYMLINKED_DIRECTORIES = (("sbin", "bin"), ("usr/bin", "../bin"), ("usr/sbin", "../bin"))


def is_static_elf(path: Path) -> bool:
    """True for a 64-bit little-endian ELF executable without a dynamic loader."""
    data = path.read_bytes()
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return False
    phoff = int.from_bytes(data[32:40], "little")
    phentsize = int.from_bytes(data[54:56], "little")
    phnum = int.from_bytes(data[56:58], "little")
    for index in range(phnum):
        start = phoff + index * phentsize
        if int.from_bytes(data[start : start + 4], "little") == _PT_INTERP:
            return False
    return True


def check_busybox(busybox: Path) -> None:
    if not busybox.is_file():
        raise BuildError(
            f"{busybox} not found: berth-small needs a static busybox "
            "(apt-get install busybox-static, or set BERTH_IMAGES_BUSYBOX)"
        )
    if not is_static_elf(busybox):
        raise BuildError(
            f"{busybox} is not a statically linked executable; berth-small needs one "
            "(apt-get install busybox-static, or set BERTH_IMAGES_BUSYBOX)"
        )


def applets(busybox: Path) -> list[str]:
    """The commands this busybox provides (sh, echo, cat, sleep, …)."""
    try:
        out = subprocess.run(
            [str(busybox), "--list"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BuildError(f"{busybox} --list failed: {exc}") from exc
    names = sorted({name for name in out.split() if "/" not in name and name != "busybox"})
    if "sh" not in names:
        raise BuildError(f"{busybox} has no sh applet")
    return names


def write_rootfs(busybox: Path, target: Path) -> int:
    """Writes the root filesystem tar to ``target``; returns how many applets it links."""
    check_busybox(busybox)
    names = applets(busybox)
    mtime = int(busybox.stat().st_mtime)

    def entry(path: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
        info = tarfile.TarInfo(path)
        info.type, info.mode, info.size, info.mtime = kind, mode, size, mtime
        info.uname = info.gname = "root"
        return info

    def symlink(path: str, to: str) -> tarfile.TarInfo:
        info = entry(path, tarfile.SYMTYPE, 0o777)
        info.linkname = to
        return info

    def text_file(tar: tarfile.TarFile, path: str, content: str) -> None:
        data = content.encode()
        tar.addfile(entry(path, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))

    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for path, mode in DIRECTORIES:
            tar.addfile(entry(path, tarfile.DIRTYPE, mode))
        for path, to in SYMLINKED_DIRECTORIES:
            tar.addfile(symlink(path, to))
        with busybox.open("rb") as binary:
            size = busybox.stat().st_size
            tar.addfile(entry("bin/busybox", tarfile.REGTYPE, 0o755, size), binary)
        for name in names:
            tar.addfile(symlink(f"bin/{name}", "busybox"))
        text_file(tar, "etc/passwd", PASSWD)
        text_file(tar, "etc/group", GROUP)
    return len(names)
