"""The Podman command line, as the image build uses it.

Builds go through the command line rather than podman-py: ``podman import`` and ``podman
build`` need no API service, and their output is what a person wants to see when a step fails.
Podman reads its settings from ``CONTAINERS_CONF`` (deploy/env.sh sets it), inherited here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from images.errors import BuildError, run_step


class PodmanCli:
    def __init__(self, executable: str = "podman", *, verbose: bool = False) -> None:
        self.executable = executable
        self.verbose = verbose

    def check_installed(self) -> None:
        if shutil.which(self.executable) is None:
            raise BuildError(f"{self.executable} is not installed (apt-get install podman)")

    def _run(self, *args: str, what: str, stdin: IO[bytes] | None = None) -> str:
        return run_step([self.executable, *args], what=what, stdin=stdin, verbose=False)

    def exists(self, reference: str) -> bool:
        result = subprocess.run(
            [self.executable, "image", "exists", reference], capture_output=True, check=False
        )
        return result.returncode == 0

    def image_id(self, reference: str) -> str | None:
        if not self.exists(reference):
            return None
        return self._run(
            "image", "inspect", "--format", "{{.Id}}", reference, what="podman image inspect"
        ).strip()

    def inspect(self, reference: str) -> dict[str, Any]:
        out = self._run("image", "inspect", reference, what="podman image inspect")
        found: list[dict[str, Any]] = json.loads(out)
        return found[0]

    def image_listing(self, label: str) -> list[dict[str, Any]]:
        out = self._run(
            "images", "--filter", f"label={label}", "--format", "json", what="podman images"
        )
        listing: list[dict[str, Any]] = json.loads(out or "[]")
        return listing

    def import_tar(
        self,
        tar: IO[bytes] | Path,
        reference: str,
        *,
        changes: Sequence[str],
        message: str,
    ) -> None:
        """``podman import``: a root filesystem tar (a file, or a pipe) becomes an image."""
        args = ["import", "--quiet", "--message", message]
        for change in changes:
            args += ["--change", change]
        if isinstance(tar, Path):
            self._run(*args, str(tar), reference, what="podman import")
        else:
            self._run(*args, "-", reference, what="podman import", stdin=tar)

    def build(
        self,
        containerfile: Path,
        context: Path,
        reference: str,
        *,
        labels: Mapping[str, str] | None = None,
        no_cache: bool = False,
    ) -> None:
        args = ["build", "--file", str(containerfile), "--tag", reference]
        for key, value in (labels or {}).items():
            args += ["--label", f"{key}={value}"]
        if no_cache:
            args.append("--no-cache")
        run_step([self.executable, *args, str(context)], what="podman build", verbose=self.verbose)

    def remove_if_unused(self, image_id: str) -> bool:
        """Removes an image unless a container or another image still uses it."""
        result = subprocess.run(
            [self.executable, "image", "rm", image_id], capture_output=True, check=False
        )
        return result.returncode == 0
