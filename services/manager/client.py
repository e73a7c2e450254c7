"""A thin client for the manager's commands over NATS request/reply."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from nats.aio.client import Client as NATS

from events import commands as cmd
from events.subjects import command_subject
from services.manager.auth_queries import LOOKUP_KEYPAIR, LookupKeypair

_encoder = msgspec.json.Encoder()


class ManagerClient:
    def __init__(self, nc: NATS, timeout: float = 10.0) -> None:
        self._nc = nc
        self._timeout = timeout

    async def send(self, name: str, command: msgspec.Struct) -> cmd.CommandReply:
        reply = await self._nc.request(
            command_subject(name), _encoder.encode(command), timeout=self._timeout
        )
        return msgspec.json.decode(reply.data, type=cmd.CommandReply)

    async def request_session(
        self, *, actor: str, name: str, image: str, request_id: str | None = None, **fields: Any
    ) -> cmd.CommandReply:
        command = cmd.RequestSession(
            request_id=request_id or uuid.uuid4().hex,
            actor=actor,
            name=name,
            image=image,
            **fields,
        )
        return await self.send(cmd.REQUEST_SESSION, command)

    async def destroy_session(
        self, session_id: str, *, actor: str, reason: str = "destroyed by its owner"
    ) -> cmd.CommandReply:
        command = cmd.DestroySession(
            request_id=uuid.uuid4().hex, actor=actor, session_id=session_id, reason=reason
        )
        return await self.send(cmd.DESTROY_SESSION, command)

    async def register_agent(self, **fields: Any) -> cmd.CommandReply:
        command = cmd.RegisterAgent(request_id=uuid.uuid4().hex, **fields)
        return await self.send(cmd.REGISTER_AGENT, command)

    async def create_resource_group(
        self, *, actor: str, name: str, **fields: Any
    ) -> cmd.CommandReply:
        command = cmd.CreateResourceGroup(
            request_id=uuid.uuid4().hex, actor=actor, name=name, **fields
        )
        return await self.send(cmd.CREATE_RESOURCE_GROUP, command)

    async def lookup_keypair(self, access_key: str) -> cmd.CommandReply:
        """The keypair's owner and its secret in clear (for the gateway's signature checks)."""
        return await self.send(LOOKUP_KEYPAIR, LookupKeypair(access_key=access_key))
