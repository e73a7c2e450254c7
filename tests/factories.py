"""Builders for domain objects in tests: valid defaults, override what the test is about."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from events.session import KernelSpec
from services.manager.domain.session import Session
from services.manager.scheduler.slots import ResourceSlots

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def requested_session(
    number: int = 0,
    *,
    access_key: str = "AKTESTUSER0000000001",
    resources: dict[str, str] | None = None,
    at: datetime | None = None,
    **overrides: Any,
) -> Session:
    """A freshly requested session (one SessionRequested event pending).

    ``resources`` (units allowed, e.g. ``{"mem": "64m"}``) are its one kernel's slots.
    """
    slots = ResourceSlots.parse(resources or {"cpu": "1", "mem": "1g"}).to_json()
    fields: dict[str, Any] = {
        "name": f"s{number}",
        "session_type": "interactive",
        "image": "berth/python:3.11",
        "architecture": "x86_64",
        "kernels": [KernelSpec(index=0, role="main", slots=slots)],
        "environ": {},
        "mounts": [],
        "startup_command": None,
        "batch_timeout": None,
        "priority": 0,
        "depends_on": [],
        "starts_at": None,
        "resource_group": "default",
        "designated_agent": None,
        "requeue_on_agent_loss": False,
        "access_key": access_key,
        "user_id": "user-1",
        "project": "default",
        "domain": "default",
        "request_id": f"req-{number}",
        "at": at or datetime.now(UTC),
    }
    fields.update(overrides)
    return Session.request(**fields)
