"""What an image recipe is, and what it gets to build with."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from images.podman_cli import PodmanCli
from images.settings import ImageBuildSettings


@dataclass(frozen=True)
class BuildContext:
    settings: ImageBuildSettings
    podman: PodmanCli
    # Progress for the person running the build: one line per step.
    say: Callable[[str], None]
    # Show each tool's own output as it runs, not only when it fails.
    verbose: bool = False
    # Rebuild every layer (podman build --no-cache), not only the final image.
    no_cache: bool = False


@dataclass(frozen=True)
class Recipe:
    """One image: its Berth name, the images it is built from, and how it is built."""

    name: str
    summary: str
    requires: tuple[str, ...]
    # Builds the image and tags it with the given Podman reference.
    build: Callable[[BuildContext, str], None]


def import_changes(
    labels: Mapping[str, str], *, cmd: Sequence[str], env: Mapping[str, str]
) -> list[str]:
    """``podman import --change`` instructions: labels, environment and default command.

    Values are written as double-quoted strings, which the Containerfile parser reads back
    unchanged (spaces, commas and colons included) as long as they hold no quote or backslash:
    it would keep the escaping backslash.
    """
    for value in (*labels.values(), *env.values()):
        if '"' in value or "\\" in value:
            raise ValueError(f"image label or environment value {value!r} has a quote or backslash")
    changes = [f"LABEL {key}={json.dumps(value)}" for key, value in labels.items()]
    changes += [f"ENV {key}={json.dumps(value)}" for key, value in env.items()]
    changes.append(f"CMD {json.dumps(list(cmd))}")
    return changes
