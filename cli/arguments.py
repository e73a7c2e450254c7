"""Reading the command line's small languages: ``cpu=1,mem=256m``, ``K=V``, ``src:dst:ro``.

Each raises :class:`~cli.connect.UsageError` with the offending text, so a typo
is reported as a usage error (exit status 2) before anything is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from berth_sdk import Mount

from cli.connect import UsageError


def resources(values: Iterable[str]) -> dict[str, str]:
    """``-r cpu=1,mem=256m -r cuda.device=1`` → ``{"cpu": "1", "mem": "256m", ...}``."""
    slots: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            if not item.strip():
                continue
            name, sep, amount = item.partition("=")
            name, amount = name.strip(), amount.strip()
            if not sep or not name or not amount:
                raise UsageError(f"resource {item!r} is not NAME=AMOUNT (e.g. cpu=1,mem=256m)")
            slots[name] = amount
    return slots


def environ(values: Iterable[str]) -> dict[str, str]:
    """``-e K=V -e X=`` → ``{"K": "V", "X": ""}``; the value may contain ``=``."""
    env: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise UsageError(f"environment variable {value!r} is not NAME=VALUE")
        env[name] = rest
    return env


def mounts(values: Iterable[str]) -> list[Mount]:
    """``--mount SOURCE:TARGET[:ro]``."""
    found: list[Mount] = []
    for value in values:
        parts = value.split(":")
        mode = parts[2] if len(parts) == 3 else "rw"
        if len(parts) not in {2, 3} or not parts[0] or not parts[1] or mode not in {"ro", "rw"}:
            raise UsageError(f"mount {value!r} is not SOURCE:TARGET[:ro]")
        read_only = mode == "ro"
        found.append(Mount(source=parts[0], target=parts[1], read_only=read_only))
    return found


def statuses(values: Iterable[str]) -> list[str]:
    """``-s running,pending -s error`` → ``["RUNNING", "PENDING", "ERROR"]``."""
    return [s.strip().upper() for value in values for s in value.split(",") if s.strip()]


def is_session_id(reference: str) -> bool:
    try:
        uuid.UUID(reference)
    except ValueError:
        return False
    return True
