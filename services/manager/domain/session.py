"""The Session aggregate: one compute session's lifecycle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid5

from events.base import DomainEvent
from events.session import SessionCancelled, SessionRequested
from services.manager.domain.aggregate import Aggregate

SESSION_NAMESPACE = UUID("6f1c3d2e-6a53-4c07-9d3e-2f1b8a0c4e11")


class SessionStatus(StrEnum):
    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"
    PREPARING = "PREPARING"
    RUNNING = "RUNNING"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


class SessionStateError(Exception):
    """A command that the session's current state does not allow."""


def session_id_for(owner: str, request_id: str) -> UUID:
    """Deterministic, so a repeated request finds the session it already created."""
    return uuid5(SESSION_NAMESPACE, f"{owner}\x00{request_id}")


class Session(Aggregate):
    def _init_state(self) -> None:
        self.name = ""
        self.owner = ""
        self.image = ""
        self.session_type = ""
        self.resources: dict[str, str] = {}
        self.status = SessionStatus.PENDING
        self.status_reason = ""

    @classmethod
    def request(
        cls,
        *,
        name: str,
        owner: str,
        image: str,
        session_type: str,
        resources: dict[str, str],
        startup_command: str | None,
        request_id: str,
        at: datetime,
    ) -> Session:
        session = cls(session_id_for(owner, request_id))
        session._init_state()
        session._record(
            SessionRequested,
            at,
            name=name,
            owner=owner,
            image=image,
            session_type=session_type,
            resources=resources,
            startup_command=startup_command,
            request_id=request_id,
        )
        return session

    def cancel(self, reason: str, at: datetime) -> None:
        if self.status is not SessionStatus.PENDING:
            raise SessionStateError(f"session {self.id} is {self.status}, not PENDING")
        self._record(SessionCancelled, at, reason=reason)

    def apply(self, event: DomainEvent) -> None:
        match event:
            case SessionRequested():
                self.name = event.name
                self.owner = event.owner
                self.image = event.image
                self.session_type = event.session_type
                self.resources = dict(event.resources)
                self.status = SessionStatus.PENDING
                self.status_reason = "requested"
            case SessionCancelled():
                self.status = SessionStatus.CANCELLED
                self.status_reason = event.reason
            case _:
                raise TypeError(f"Session cannot apply {type(event).__name__}")
