"""Commands: imperative requests to the manager, sent as NATS request/reply.

A command names what the caller wants; the manager decides and answers with a
:class:`CommandReply`. Each carries the client's ``request_id``: a repeated
command with the same id is answered with the first outcome and decides nothing.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from events.base import Command

SessionType = Literal["interactive", "batch"]

REQUEST_SESSION = "session.request"
CANCEL_SESSION = "session.cancel"


class RequestSession(Command, frozen=True, kw_only=True):
    name: str
    owner: str
    image: str
    session_type: SessionType = "interactive"
    resources: dict[str, str] = msgspec.field(default_factory=dict)
    startup_command: str | None = None


class CancelSession(Command, frozen=True, kw_only=True):
    session_id: str
    owner: str
    reason: str = "cancelled by user"


class CommandError(msgspec.Struct, frozen=True):
    code: str
    message: str


class CommandReply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ok: bool
    session_id: str | None = None
    notification_id: int | None = None
    duplicate: bool = False
    error: CommandError | None = None
    #: what else the caller needs to know (a new keypair's access and secret key)
    data: dict[str, str] | None = None
