"""berth-small: a busybox image of about a megabyte, built in a second; for fast tests."""

from __future__ import annotations

import tempfile
from pathlib import Path

from images.labels import ImageLabels
from images.recipe import BuildContext, Recipe, import_changes
from images.small.rootfs import write_rootfs

LABELS = ImageLabels(
    kind="test",
    language="shell",
    min_resources={"cpu": "0.1", "mem": "16m"},
)

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def build(ctx: BuildContext, reference: str) -> None:
    busybox = ctx.settings.busybox
    with tempfile.TemporaryDirectory(prefix="berth-small-", dir=ctx.settings.work_dir) as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        count = write_rootfs(busybox, rootfs)
        ctx.say(f"root filesystem: {busybox} with {count} applets")
        ctx.podman.import_tar(
            rootfs,
            reference,
            changes=import_changes(LABELS.to_labels(), cmd=["/bin/sh"], env={"PATH": PATH}),
            message="berth-small: busybox",
        )


RECIPE = Recipe(
    name="berth-small",
    summary="busybox (static), for fast tests",
    requires=(),
    build=build,
)
