"""``python -m images build [NAMES...] [--force]`` and ``python -m images ls``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from images.build import build_images
from images.errors import BuildError
from images.inventory import ImageInfo, images_from_listing
from images.labels import LABEL_KIND, format_service_ports
from images.podman_cli import PodmanCli
from images.recipes import RECIPES, UnknownImage


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m images", description="Build and list Berth's session images."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser(
        "build",
        help="build images (all when none is named), with the images they are built from",
        description="Images: " + "; ".join(f"{r.name}: {r.summary}" for r in RECIPES.values()),
    )
    build.add_argument("names", nargs="*", metavar="NAME", help="berth-small, small, python, …")
    build.add_argument("--force", action="store_true", help="rebuild the named images")
    build.add_argument("--no-cache", action="store_true", help="podman build without its cache")
    build.add_argument("-v", "--verbose", action="store_true", help="show the tools' output")
    commands.add_parser("ls", help="list the local Berth images and their labels")
    return parser


def _table(images: Sequence[ImageInfo]) -> str:
    header = ("NAME", "KIND", "LANGUAGE", "MIN-CPU", "MIN-MEM", "SERVICE-PORTS", "SIZE", "ID")
    rows = [header] + [
        (
            image.name,
            image.kind,
            image.language or "-",
            image.min_resources.get("cpu", "-"),
            image.min_resources.get("mem", "-"),
            format_service_ports(image.service_ports) or "-",
            f"{image.size / 1e6:.1f} MB",
            image.id[:12],
        )
        for image in images
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            build_images(args.names, force=args.force, verbose=args.verbose, no_cache=args.no_cache)
        else:
            podman = PodmanCli()
            podman.check_installed()
            print(_table(images_from_listing(podman.image_listing(LABEL_KIND))))
    except (BuildError, UnknownImage) as exc:
        print(f"images: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # The image being built is not tagged until its last step, so nothing half-made stays.
        print("images: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
