"""Image metadata as OCI labels: what a session image is and what it needs.

Every Berth image carries ``io.berth.image.kind``; that label is what makes a local image part
of an agent's inventory. The others are optional:

- ``io.berth.image.language``: what the image runs (``python``, ``shell``);
- ``io.berth.image.service-ports``: the services it offers, ``name:protocol:port`` separated by
  commas (``jupyter:http:8888,ssh:tcp:2200``);
- ``io.berth.image.min-cpu`` and ``io.berth.image.min-mem``: the least a session of this image
  should ask for, written as resource slot amounts (``0.5``, ``64m``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

LABEL_KIND = "io.berth.image.kind"
LABEL_LANGUAGE = "io.berth.image.language"
LABEL_SERVICE_PORTS = "io.berth.image.service-ports"
LABEL_MIN_CPU = "io.berth.image.min-cpu"
LABEL_MIN_MEM = "io.berth.image.min-mem"

# Which resource slot each minimum label speaks for.
MIN_RESOURCE_LABELS: Mapping[str, str] = {"cpu": LABEL_MIN_CPU, "mem": LABEL_MIN_MEM}

PROTOCOLS = frozenset({"http", "https", "tcp", "udp", "ws"})

_SERVICE_NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")
_AMOUNT = re.compile(r"(\d+(\.\d*)?|\.\d+)[a-zA-Z]*\Z")


class ImageLabelError(ValueError):
    """A Berth label whose value cannot be read; says which label and what is wrong."""

    def __init__(self, label: str, problem: str) -> None:
        super().__init__(f"label {label}: {problem}")
        self.label = label
        self.problem = problem


@dataclass(frozen=True)
class ServicePort:
    """A service the image offers inside the container, e.g. Jupyter on HTTP port 8888."""

    name: str
    protocol: str
    port: int

    def __str__(self) -> str:
        return f"{self.name}:{self.protocol}:{self.port}"


@dataclass(frozen=True)
class ImageLabels:
    """The Berth labels of one image, read and checked."""

    kind: str
    language: str = ""
    service_ports: tuple[ServicePort, ...] = ()
    # Slot name to amount as written in the label (``{"cpu": "0.5", "mem": "64m"}``); the
    # scheduler's slot parser reads these, so they stay text here.
    min_resources: Mapping[str, str] = field(default_factory=dict)

    def to_labels(self) -> dict[str, str]:
        """The labels to put on an image; every key is present, so a derived image overrides
        all of its parent's Berth labels."""
        labels = {
            LABEL_KIND: self.kind,
            LABEL_LANGUAGE: self.language,
            LABEL_SERVICE_PORTS: format_service_ports(self.service_ports),
        }
        for slot, label in MIN_RESOURCE_LABELS.items():
            labels[label] = self.min_resources.get(slot, "")
        return labels


def parse_service_ports(text: str) -> tuple[ServicePort, ...]:
    """``jupyter:http:8888,ssh:tcp:2200`` → service ports; an empty value means none."""
    ports: list[ServicePort] = []
    seen: set[str] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        pieces = item.split(":")
        if len(pieces) != 3:
            raise ImageLabelError(LABEL_SERVICE_PORTS, f"{item!r} is not name:protocol:port")
        name, protocol, port_text = pieces
        if not _SERVICE_NAME.match(name):
            raise ImageLabelError(LABEL_SERVICE_PORTS, f"{name!r} is not a service name")
        if protocol not in PROTOCOLS:
            known = ", ".join(sorted(PROTOCOLS))
            raise ImageLabelError(LABEL_SERVICE_PORTS, f"{item!r}: protocol must be one of {known}")
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ImageLabelError(LABEL_SERVICE_PORTS, f"{item!r}: port must be 1-65535")
        if name in seen:
            raise ImageLabelError(LABEL_SERVICE_PORTS, f"service {name!r} is named twice")
        seen.add(name)
        ports.append(ServicePort(name=name, protocol=protocol, port=int(port_text)))
    return tuple(ports)


def format_service_ports(ports: tuple[ServicePort, ...]) -> str:
    return ",".join(str(port) for port in ports)


def parse_labels(labels: Mapping[str, str] | None) -> ImageLabels | None:
    """The Berth labels among an image's labels; None when it is not a Berth image.

    Raises ImageLabelError when a Berth label is malformed, so that a broken image is refused
    rather than offered to sessions with wrong metadata.
    """
    labels = labels or {}
    kind = labels.get(LABEL_KIND, "").strip()
    if not kind:
        return None
    minimums: dict[str, str] = {}
    for slot, label in MIN_RESOURCE_LABELS.items():
        amount = labels.get(label, "").strip()
        if not amount:
            continue
        if not _AMOUNT.match(amount):
            raise ImageLabelError(label, f"{amount!r} is not a resource amount")
        minimums[slot] = amount
    return ImageLabels(
        kind=kind,
        language=labels.get(LABEL_LANGUAGE, "").strip(),
        service_ports=parse_service_ports(labels.get(LABEL_SERVICE_PORTS, "")),
        min_resources=minimums,
    )
