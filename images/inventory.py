"""The local images an agent can run sessions from: every image carrying ``io.berth.image.kind``.

``list_images`` asks Podman through podman-py, which is synchronous: the agent calls it from a
worker thread. ``images_from_listing`` is the pure part, shared with ``python -m images ls``, which
reads the same listing from the Podman command line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import podman

from images.labels import LABEL_KIND, ImageLabelError, ServicePort, parse_labels
from images.names import container_image_ref, short_name

__all__ = ["ImageInfo", "container_image_ref", "images_from_listing", "list_images"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageInfo:
    """One Berth image under one of its names."""

    name: str
    kind: str
    language: str
    service_ports: tuple[ServicePort, ...]
    # Slot name to amount as written in the image's labels, e.g. {"cpu": "0.5", "mem": "64m"}.
    min_resources: dict[str, str] = field(hash=False)
    size: int
    id: str


def _names(entry: Mapping[str, Any]) -> list[str]:
    # The API lists tags as RepoTags, the command line as Names; untagged images (left behind
    # by a rebuild) have none or "<none>:<none>", and no session can name them.
    tags = entry.get("RepoTags") or entry.get("Names") or []
    return [tag for tag in tags if tag and not tag.startswith("<none>")]


def images_from_listing(entries: Iterable[Mapping[str, Any]]) -> list[ImageInfo]:
    """Berth images in a Podman image listing, one per name, sorted by name.

    An image with malformed Berth labels is left out (and logged): offering it would let
    sessions be placed on metadata that is wrong.
    """
    found: dict[str, ImageInfo] = {}
    for entry in entries:
        image_id = str(entry.get("Id", ""))
        try:
            labels = parse_labels(entry.get("Labels"))
        except ImageLabelError as exc:
            log.warning("image %s left out of the inventory: %s", image_id[:12], exc)
            continue
        if labels is None:
            continue
        for reference in _names(entry):
            name = short_name(reference)
            found[name] = ImageInfo(
                name=name,
                kind=labels.kind,
                language=labels.language,
                service_ports=labels.service_ports,
                min_resources=dict(labels.min_resources),
                size=int(entry.get("Size") or 0),
                id=image_id,
            )
    return [found[name] for name in sorted(found)]


def list_images(client: podman.PodmanClient) -> list[ImageInfo]:
    """Every local image carrying ``io.berth.image.kind``. Blocking: call it from a thread."""
    images = client.images.list(filters={"label": LABEL_KIND})
    return images_from_listing(image.attrs for image in images)
