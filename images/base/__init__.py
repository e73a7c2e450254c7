"""berth-base: Debian bookworm minbase from debootstrap, imported into Podman; the image the
session images are built on."""

from __future__ import annotations

import tempfile
from pathlib import Path

from images.base.debootstrap import (
    bootstrap,
    check_tools,
    import_rootfs,
    make_fit_for_containers,
    unmount_under,
)
from images.labels import ImageLabels
from images.recipe import BuildContext, Recipe, import_changes
from images.settings import DEBIAN_SUITE

LABELS = ImageLabels(
    kind="base",
    language="shell",
    min_resources={"cpu": "0.1", "mem": "32m"},
)

ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    # Debian's libc always has this locale; without LANG, programs fall back to ASCII.
    "LANG": "C.UTF-8",
}


def build(ctx: BuildContext, reference: str) -> None:
    check_tools()
    with tempfile.TemporaryDirectory(prefix="berth-base-", dir=ctx.settings.work_dir) as tmp:
        rootfs = Path(tmp) / "rootfs"
        ctx.say(f"debootstrap --variant=minbase {DEBIAN_SUITE} (under a minute)")
        try:
            bootstrap(ctx.settings, rootfs, verbose=ctx.verbose)
            make_fit_for_containers(ctx.settings, rootfs)
        finally:
            unmount_under(rootfs)
        ctx.say("tar | podman import")
        import_rootfs(
            ctx.podman,
            rootfs,
            reference,
            changes=import_changes(LABELS.to_labels(), cmd=["/bin/bash"], env=ENV),
            message=f"berth-base: debian {DEBIAN_SUITE} minbase",
        )


RECIPE = Recipe(
    name="berth-base",
    summary=f"Debian {DEBIAN_SUITE} minbase (debootstrap)",
    requires=(),
    build=build,
)
