"""Events of the ``session`` aggregate: a compute session's decided history."""

from __future__ import annotations

from typing import ClassVar

from events.base import DomainEvent


class _SessionEvent(DomainEvent, frozen=True, kw_only=True):
    kind: ClassVar[str] = "session"


class SessionRequested(_SessionEvent, frozen=True, kw_only=True):
    name: str
    owner: str
    image: str
    session_type: str
    resources: dict[str, str]
    startup_command: str | None = None
    request_id: str


class SessionCancelled(_SessionEvent, frozen=True, kw_only=True):
    reason: str
