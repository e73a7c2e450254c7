"""The image build's settings: one typed object, read from ``BERTH_IMAGES_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEBIAN_SUITE = "bookworm"


@dataclass(frozen=True)
class ImageBuildSettings:
    """Where the build gets its parts from.

    - ``BERTH_IMAGES_DEBIAN_MIRROR``: the Debian archive debootstrap and apt use;
    - ``BERTH_IMAGES_DEBIAN_SECURITY_MIRROR``: the archive of Debian's security updates;
    - ``BERTH_IMAGES_BUSYBOX``: the statically linked busybox that berth-small is made of;
    - ``BERTH_IMAGES_WORK_DIR``: where root filesystems are assembled (the system's temporary
      directory when unset; berth-base needs a few hundred MB there).
    """

    debian_mirror: str = "http://deb.debian.org/debian"
    debian_security_mirror: str = "http://deb.debian.org/debian-security"
    busybox: Path = Path("/bin/busybox")
    work_dir: Path | None = None

    @classmethod
    def from_env(cls) -> ImageBuildSettings:
        work_dir = os.environ.get("BERTH_IMAGES_WORK_DIR")
        return cls(
            debian_mirror=os.environ.get("BERTH_IMAGES_DEBIAN_MIRROR", cls.debian_mirror),
            debian_security_mirror=os.environ.get(
                "BERTH_IMAGES_DEBIAN_SECURITY_MIRROR", cls.debian_security_mirror
            ),
            busybox=Path(os.environ.get("BERTH_IMAGES_BUSYBOX", str(cls.busybox))),
            work_dir=Path(work_dir) if work_dir else None,
        )
