"""A thin client for the manager's commands over NATS request/reply."""

from __future__ import annotations

import uuid

import msgspec
from nats.aio.client import Client as NATS

from events.commands import (
    CANCEL_SESSION,
    REQUEST_SESSION,
    CancelSession,
    CommandReply,
    RequestSession,
)
from events.subjects import command_subject

_encoder = msgspec.json.Encoder()


class ManagerClient:
    def __init__(self, nc: NATS, timeout: float = 5.0) -> None:
        self._nc = nc
        self._timeout = timeout

    async def send(self, name: str, command: msgspec.Struct) -> CommandReply:
        reply = await self._nc.request(
            command_subject(name), _encoder.encode(command), timeout=self._timeout
        )
        return msgspec.json.decode(reply.data, type=CommandReply)

    async def request_session(
        self,
        *,
        name: str,
        owner: str,
        image: str,
        session_type: str = "interactive",
        resources: dict[str, str] | None = None,
        startup_command: str | None = None,
        request_id: str | None = None,
    ) -> CommandReply:
        command = RequestSession(
            request_id=request_id or uuid.uuid4().hex,
            name=name,
            owner=owner,
            image=image,
            session_type=session_type,  # type: ignore[arg-type]
            resources=resources or {},
            startup_command=startup_command,
        )
        return await self.send(REQUEST_SESSION, command)

    async def cancel_session(
        self, session_id: str, *, owner: str, reason: str = "cancelled by user"
    ) -> CommandReply:
        command = CancelSession(
            request_id=uuid.uuid4().hex, session_id=session_id, owner=owner, reason=reason
        )
        return await self.send(CANCEL_SESSION, command)
