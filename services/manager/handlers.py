"""Command handlers: validate, let the aggregate decide, save. No NATS in here.

A refused command raises :class:`CommandRefused` with a stable code and a precise
message, and writes nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from events.commands import CancelSession, CommandReply, RequestSession
from services.manager.domain.aggregate import projector
from services.manager.domain.session import Session, SessionStateError, session_id_for
from services.manager.store import EventStore

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SLOT_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")
MAX_REQUEST_ID = 128
MAX_COMMAND_LEN = 4096
MAX_SLOTS = 32


class CommandRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _check_request_id(request_id: str) -> None:
    if not request_id or len(request_id) > MAX_REQUEST_ID:
        raise CommandRefused(
            "invalid-request-id", f"request_id must be 1..{MAX_REQUEST_ID} characters"
        )


def _check_resources(resources: dict[str, str]) -> dict[str, str]:
    if len(resources) > MAX_SLOTS:
        raise CommandRefused("invalid-resources", f"at most {MAX_SLOTS} resource slots")
    normalised: dict[str, str] = {}
    for slot, amount in resources.items():
        if not SLOT_RE.match(slot):
            raise CommandRefused("invalid-resources", f"malformed slot name {slot!r}")
        try:
            value = Decimal(amount)
        except (InvalidOperation, TypeError):
            raise CommandRefused(
                "invalid-resources", f"slot {slot!r}: {amount!r} is not a number"
            ) from None
        if not value.is_finite() or value <= 0:
            raise CommandRefused("invalid-resources", f"slot {slot!r} must be positive")
        normalised[slot] = str(value.normalize())
    return normalised


def _existing(store: EventStore, session_id: UUID) -> Session | None:
    try:
        session: Session = store.repository.get(session_id, projector_func=projector(Session))
    except AggregateNotFoundError:
        return None
    return session


def request_session(store: EventStore, cmd: RequestSession, at: datetime) -> CommandReply:
    _check_request_id(cmd.request_id)
    if not NAME_RE.match(cmd.name):
        raise CommandRefused(
            "invalid-name", "name must be 1-64 letters, digits, '.', '_' or '-', starting alnum"
        )
    if not cmd.owner or len(cmd.owner) > 128:
        raise CommandRefused("invalid-owner", "owner must be 1..128 characters")
    if not cmd.image or len(cmd.image) > 256:
        raise CommandRefused("invalid-image", "image must be 1..256 characters")
    if cmd.session_type == "batch" and not cmd.startup_command:
        raise CommandRefused("missing-startup-command", "a batch session needs a startup_command")
    if cmd.startup_command is not None and len(cmd.startup_command) > MAX_COMMAND_LEN:
        raise CommandRefused("invalid-startup-command", f"at most {MAX_COMMAND_LEN} characters")
    resources = _check_resources(cmd.resources)

    session_id = session_id_for(cmd.owner, cmd.request_id)
    if _existing(store, session_id) is not None:
        return CommandReply(ok=True, session_id=str(session_id), duplicate=True)
    session = Session.request(
        name=cmd.name,
        owner=cmd.owner,
        image=cmd.image,
        session_type=cmd.session_type,
        resources=resources,
        startup_command=cmd.startup_command,
        request_id=cmd.request_id,
        at=at,
    )
    try:
        recordings = store.save(session)
    except IntegrityError:
        # The same request raced with itself: the first one decided.
        return CommandReply(ok=True, session_id=str(session_id), duplicate=True)
    return CommandReply(
        ok=True, session_id=str(session_id), notification_id=recordings[-1].notification.id
    )


def cancel_session(store: EventStore, cmd: CancelSession, at: datetime) -> CommandReply:
    _check_request_id(cmd.request_id)
    try:
        session_id = UUID(cmd.session_id)
    except ValueError:
        raise CommandRefused("invalid-session-id", f"{cmd.session_id!r} is not a UUID") from None
    session = _existing(store, session_id)
    if session is None or session.owner != cmd.owner:
        raise CommandRefused("session-not-found", f"no session {session_id} for {cmd.owner}")
    try:
        session.cancel(cmd.reason[:256], at)
    except SessionStateError as exc:
        raise CommandRefused("invalid-state", str(exc)) from None
    try:
        recordings = store.save(session)
    except IntegrityError:
        raise CommandRefused("conflict", f"session {session_id} changed meanwhile; retry") from None
    return CommandReply(
        ok=True, session_id=str(session_id), notification_id=recordings[-1].notification.id
    )
