"""``PodmanRuntime``: the agent's only way to touch containers, over the Podman API socket.

podman-py is synchronous; every method here blocks and is called from worker
threads (``asyncio.to_thread``), each thread with a client of its own, so that a
long ``wait`` never holds a connection another call needs.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import podman
from podman.domain.containers import Container
from podman.errors import APIError, ImageNotFound, NotFound

from services.agent.container_spec import LABEL_AGENT, LABEL_KERNEL


class RuntimeFailure(RuntimeError):
    """Podman refused or failed; the message is fit for a session's status reason."""


@dataclass(frozen=True)
class ContainerInfo:
    container_id: str
    name: str
    kernel_id: UUID | None
    running: bool
    #: created (perhaps initialised) but never started
    fresh: bool
    exit_code: int | None
    oom_killed: bool
    labels: dict[str, str]
    cgroup_path: str


def _kernel_of(labels: dict[str, str]) -> UUID | None:
    try:
        return UUID(labels.get(LABEL_KERNEL, ""))
    except ValueError:
        return None


def _demux(raw: bytes) -> bytes:
    """Podman's exec output is framed (8-byte headers); keep the interleaved payload."""
    out = bytearray()
    pos = 0
    while pos + 8 <= len(raw):
        stream, size = raw[pos], struct.unpack(">I", raw[pos + 4 : pos + 8])[0]
        if stream not in (0, 1, 2):
            return raw  # not framed after all
        out += raw[pos + 8 : pos + 8 + size]
        pos += 8 + size
    return bytes(out) if pos == len(raw) else raw


class PodmanRuntime:
    def __init__(self, url: str) -> None:
        self._url = url
        self._local = threading.local()

    @property
    def client(self) -> podman.PodmanClient:
        client: podman.PodmanClient | None = getattr(self._local, "client", None)
        if client is None:
            client = podman.PodmanClient(base_url=self._url, timeout=600)
            self._local.client = client
        return client

    def _handle(self, container_id: str) -> Container:
        """A container to act on, without inspecting it first.

        ``containers.get`` inspects the container (a round trip, and the largest JSON
        document Podman sends) before every call; a kernel's life took six of them
        only to learn the id the agent already holds.
        """
        return self.client.containers.prepare_model({"Id": container_id})

    def version(self) -> str:
        found: dict[str, object] = self.client.version()  # type: ignore[no-untyped-call]
        return str(found.get("Version", "unknown"))

    def create(self, options: dict[str, Any]) -> str:
        try:
            container = self.client.containers.create(**options)
        except ImageNotFound:
            raise RuntimeFailure(f"image {options['image']} is not on this node") from None
        except APIError as exc:
            raise RuntimeFailure(
                f"podman could not create the container: {exc.explanation}"
            ) from exc
        return str(container.id)

    def init(self, container_id: str) -> str:
        """Prepare the container without running its command; returns its cgroup path.

        Between ``init`` and ``start`` the cgroup exists and nothing runs in it yet:
        the moment to watch it for OOM kills, before the command can use any memory.
        """
        container = self._handle(container_id)
        try:
            container.init()
            container.reload()
        except APIError as exc:
            why = f"podman could not prepare the container: {exc.explanation}"
            raise RuntimeFailure(why) from exc
        # Podman 4 leaves State.CgroupPath empty before start; the cgroupfs manager
        # names the cgroup after the container under its parent.
        state = container.attrs.get("State", {})
        found = state.get("CgroupPath") if isinstance(state, dict) else None
        if found:
            return str(found)
        parent = container.attrs.get("HostConfig", {}).get("CgroupParent") or "/libpod_parent"
        return f"{parent}/libpod-{container.id}"

    def start(self, container_id: str) -> None:
        try:
            self._handle(container_id).start()
        except APIError as exc:
            raise RuntimeFailure(
                f"podman could not start the container: {exc.explanation}"
            ) from exc

    def inspect(self, container_id: str) -> ContainerInfo | None:
        try:
            container = self.client.containers.get(container_id)
        except NotFound:
            return None
        return self._info(container.attrs)

    def _info(self, attrs: dict[str, Any]) -> ContainerInfo:
        state = attrs.get("State", {})
        labels = attrs.get("Config", {}).get("Labels") or attrs.get("Labels") or {}
        status = state.get("Status", "") if isinstance(state, dict) else str(state)
        running = status in ("running", "paused")
        fresh = status in ("created", "configured", "initialized")
        exited = status in ("exited", "stopped", "dead")
        code = state.get("ExitCode") if isinstance(state, dict) else attrs.get("ExitCode")
        return ContainerInfo(
            container_id=str(attrs.get("Id", "")),
            name=str(attrs.get("Name", "")).lstrip("/"),
            kernel_id=_kernel_of(labels),
            running=running,
            fresh=fresh,
            exit_code=int(code) if exited and code is not None else None,
            oom_killed=bool(state.get("OOMKilled", False)) if isinstance(state, dict) else False,
            labels=dict(labels),
            cgroup_path=str(state.get("CgroupPath", "")) if isinstance(state, dict) else "",
        )

    def kernel_containers(self, agent_id: UUID) -> list[ContainerInfo]:
        """Every container this agent made, running or not, inspected."""
        found = self.client.containers.list(
            all=True, filters={"label": f"{LABEL_AGENT}={agent_id}"}
        )
        infos = []
        for container in found:
            info = self.inspect(str(container.id))
            if info is not None:
                infos.append(info)
        return infos

    def wait(self, container_id: str) -> None:
        """Block until the container is no longer running."""
        try:
            self._handle(container_id).wait(condition=["exited", "stopped"])
        except NotFound:
            return

    def stop(self, container_id: str, timeout: float) -> None:
        try:
            self._handle(container_id).stop(timeout=max(1, round(timeout)))
        except NotFound:
            return
        except APIError as exc:
            if "not running" not in str(exc.explanation).lower():
                raise RuntimeFailure(
                    f"podman could not stop the container: {exc.explanation}"
                ) from exc

    def remove(self, container_id: str) -> None:
        try:
            self.client.containers.remove(container_id, force=True)
        except NotFound:
            return

    def logs(self, container_id: str) -> bytes | None:
        """Everything the container wrote so far (stdout and stderr), or None when gone."""
        try:
            chunks = self._handle(container_id).logs(stdout=True, stderr=True)
        except NotFound:
            return None
        if isinstance(chunks, bytes):
            return chunks
        return b"".join(chunks)

    def exec(
        self, container_id: str, command: list[str], environ: dict[str, str]
    ) -> tuple[int | None, bytes]:
        try:
            container = self.client.containers.get(container_id)
            code, output = container.exec_run(command, environment=environ or [])
        except NotFound:
            raise RuntimeFailure("the kernel's container is gone") from None
        except APIError as exc:
            raise RuntimeFailure(f"podman could not run the command: {exc.explanation}") from exc
        raw = output if isinstance(output, bytes) else b""
        return code, _demux(raw)

    def stats(self, container_id: str) -> dict[str, Any] | None:
        try:
            found = self.client.containers.get(container_id).stats(stream=False, decode=True)
        except (NotFound, APIError):
            return None
        if isinstance(found, dict):
            stats = found.get("Stats") or []
            return stats[0] if stats else None
        return None

    def image_names(self) -> list[str]:
        """Local image references (``localhost/berth-small:latest``, …)."""
        names: list[str] = []
        for image in self.client.images.list():
            names.extend(image.tags)
        return names
