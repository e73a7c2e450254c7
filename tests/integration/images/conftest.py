"""A Podman API service of the tests' own, for the inventory as the agent reads it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import podman
import pytest

from services.agent.podman_service import PodmanService


@pytest.fixture(scope="module")
def podman_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[podman.PodmanClient]:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed on this machine")
    directory = tmp_path_factory.mktemp("podman-api")
    service = PodmanService(directory / "podman.sock", directory / "podman.log")
    service.ensure()
    client = podman.PodmanClient(base_url=service.url)
    yield client
    client.close()  # type: ignore[no-untyped-call]
    service.stop()
