"""The node's images as the supervisor sees them: Berth's short names, refreshed on demand."""

from __future__ import annotations

import logging
import threading

from images.inventory import container_image_ref, list_images
from images.names import short_name
from services.agent.runtime import PodmanRuntime

log = logging.getLogger("berth.agent")


class PodmanImageStore:
    """Every local image carrying Berth's labels (see ``images/``), by short name."""

    def __init__(self, runtime: PodmanRuntime) -> None:
        self._runtime = runtime
        self._names: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def refresh(self) -> bool:
        found = frozenset(info.name for info in list_images(self._runtime.client))
        with self._lock:
            changed = found != self._names
            self._names = found
        if changed:
            log.info("images on this node: %s", ", ".join(sorted(found)) or "none")
        return changed

    def names(self) -> list[str]:
        return sorted(self._names)

    def resolve(self, name: str) -> str | None:
        try:
            ref = container_image_ref(name)
        except ValueError:
            return None
        return ref if short_name(ref) in self._names else None
