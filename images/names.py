"""Berth's short image names and the references Podman knows them by.

Podman stores a locally built image as ``localhost/<name>:<tag>``. Sessions, agents and people
use the short form: ``berth-small`` for ``localhost/berth-small:latest``, ``x:tag`` when a tag
other than ``latest`` is meant. A name that starts with a registry (``quay.io/…``) is used as it
is.
"""

from __future__ import annotations

import re

LOCAL_DOMAIN = "localhost"
DEFAULT_TAG = "latest"

_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]*\Z")


def _has_domain(name: str) -> bool:
    # The same rule as Podman's: the first path component names a registry when it has a dot
    # or a port, or is localhost.
    first, slash, _ = name.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == LOCAL_DOMAIN)


def _has_tag_or_digest(name: str) -> bool:
    last = name.rsplit("/", 1)[-1]
    return ":" in last or "@" in last


def container_image_ref(name: str) -> str:
    """The Podman reference of a Berth image name.

    ``berth-small`` → ``localhost/berth-small:latest``; ``x:tag`` → ``localhost/x:tag``; a name
    with a registry domain is passed through unchanged.
    """
    if not _REFERENCE.match(name):
        raise ValueError(f"{name!r} is not an image name")
    if _has_domain(name):
        return name
    if not _has_tag_or_digest(name):
        name = f"{name}:{DEFAULT_TAG}"
    return f"{LOCAL_DOMAIN}/{name}"


def short_name(reference: str) -> str:
    """The Berth name of a Podman reference: the inverse of ``container_image_ref``."""
    name = reference
    local = reference.removeprefix(f"{LOCAL_DOMAIN}/")
    if local != reference and not _has_domain(local):
        name = local
    return name.removesuffix(f":{DEFAULT_TAG}")
