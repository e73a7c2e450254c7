"""A stand-in for the manager that answers at once, to measure the gateway on its own.

It answers the two commands a signed ``POST /v1/sessions`` needs: ``auth.keypair``
(one keypair of its own, a superadmin's) and ``session.request`` (accepted, with
a fresh session id), and decides nothing. With it, the gateway benchmark shows
what the gateway itself can carry, apart from the manager, the store, the
projections and the fleet that answer the real requests.
"""

from __future__ import annotations

import json
import secrets
import uuid

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from events.commands import REQUEST_SESSION, CommandReply
from events.subjects import command_subject
from services.manager.auth_queries import LOOKUP_KEYPAIR

_encoder = msgspec.json.Encoder()


class ManagerStub:
    def __init__(self) -> None:
        self.access_key = f"AKSTUB{secrets.token_hex(6).upper()}"
        self.secret_key = secrets.token_urlsafe(30)
        self._keypair = _encoder.encode(
            CommandReply(
                ok=True,
                data={
                    "access_key": self.access_key,
                    "user_id": str(uuid.uuid4()),
                    "username": "bench",
                    "role": "superadmin",
                    "domain": "default",
                    "projects": json.dumps(["default"]),
                    "secret_key": self.secret_key,
                },
            )
        )
        self._nc = NATS()
        self._subscriptions: list[Subscription] = []

    @property
    def keys(self) -> dict[str, str]:
        return {"access_key": self.access_key, "secret_key": self.secret_key}

    async def start(self, url: str) -> None:
        await self._nc.connect(url, name="berth-bench-manager-stub")
        self._subscriptions = [
            await self._nc.subscribe(command_subject(LOOKUP_KEYPAIR), cb=self._lookup),
            await self._nc.subscribe(command_subject(REQUEST_SESSION), cb=self._request),
        ]

    async def stop(self) -> None:
        await self._nc.close()

    async def _lookup(self, msg: Msg) -> None:
        await msg.respond(self._keypair)

    async def _request(self, msg: Msg) -> None:
        await msg.respond(_encoder.encode(CommandReply(ok=True, session_id=str(uuid.uuid4()))))
