"""A thin client for the manager's commands over NATS request/reply."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

import msgspec
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from events import commands as cmd
from events.request_ids import new_request_id
from events.subjects import command_subject
from services.manager.auth_queries import LOOKUP_KEYPAIR, LookupKeypair

_encoder = msgspec.json.Encoder()


class RegistrationFailed(Exception):
    """An agent could not register, for a reason the operator can act on."""


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
            request_id=request_id or new_request_id(),
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
            request_id=new_request_id(), actor=actor, session_id=session_id, reason=reason
        )
        return await self.send(cmd.DESTROY_SESSION, command)

    async def register_agent(self, *, patience: float = 0.0, **fields: Any) -> UUID:
        """Register an agent; its id. While the manager is not answering yet (it may be
        starting), asks again for up to ``patience`` seconds.

        Raises :class:`RegistrationFailed` when refused or never answered.
        """
        command = cmd.RegisterAgent(request_id=new_request_id(), **fields)
        deadline = time.monotonic() + patience
        while True:
            try:
                reply = await self.send(cmd.REGISTER_AGENT, command)
            except (NoRespondersError, NatsTimeout):
                if time.monotonic() > deadline:
                    raise RegistrationFailed(
                        "the manager did not answer the registration"
                    ) from None
                await asyncio.sleep(0.2)
                continue
            if not reply.ok or reply.data is None:
                why = f"{reply.error.code}: {reply.error.message}" if reply.error else "no reason"
                raise RegistrationFailed(f"agent {command.name} was refused: {why}")
            return UUID(reply.data["agent_id"])

    async def create_resource_group(
        self, *, actor: str, name: str, **fields: Any
    ) -> cmd.CommandReply:
        command = cmd.CreateResourceGroup(
            request_id=new_request_id(), actor=actor, name=name, **fields
        )
        return await self.send(cmd.CREATE_RESOURCE_GROUP, command)

    async def lookup_keypair(self, access_key: str) -> cmd.CommandReply:
        """The keypair's owner and its secret in clear (for the gateway's signature checks)."""
        return await self.send(LOOKUP_KEYPAIR, LookupKeypair(access_key=access_key))
