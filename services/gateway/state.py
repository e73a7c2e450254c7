"""What every part of the gateway shares: who is asking, and the connections it works with.

REST routers and the GraphQL schema both receive one :class:`GatewayState`. They
authenticate with ``state.authenticate(request_or_websocket)`` (raises
:class:`~services.gateway.errors.ApiError` 401 when nothing valid is presented),
read the read models with ``await state.read(queries.list_sessions, ...)`` (the
query runs on a worker thread with a read-only connection) and send commands
with ``state.manager`` using the principal's access key as actor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

import anyio.to_thread
from nats.aio.client import Client as NATS
from starlette.requests import HTTPConnection

from events.tenant import Role
from projections.queries import Reader, Visibility
from services.gateway.settings import GatewaySettings
from services.manager.client import ManagerClient

if TYPE_CHECKING:
    from services.gateway.auth.keypairs import KeypairCache
    from services.gateway.auth.tokens import TokenSigner
    from services.gateway.telemetry import TelemetryCache

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: whoever holds ``access_key``."""

    access_key: str
    user_id: str
    username: str
    role: Role
    domain: str
    #: names of the projects (of ``domain``) the user belongs to
    projects: tuple[str, ...]

    @property
    def is_superadmin(self) -> bool:
        return self.role == "superadmin"

    @property
    def visibility(self) -> Visibility:
        """What this caller may read, in the terms the read-model queries filter by."""
        return Visibility(
            access_key=self.access_key,
            user_id=self.user_id,
            role=self.role,
            domain=self.domain,
            projects=self.projects,
        )


#: authenticates an HTTP request or a WebSocket (cookie, bearer token or signature)
Authenticate = Callable[[HTTPConnection], Awaitable[Principal]]
#: authenticates a bearer token given some other way (a GraphQL ``connection_init`` payload)
AuthenticateToken = Callable[[str], Awaitable[Principal]]
#: opens a read-only connection to the read models (blocking: use it on a worker thread)
ReadConnectionFactory = Callable[[], AbstractContextManager[Reader]]


@dataclass
class GatewayState:
    settings: GatewaySettings
    nc: NATS
    manager: ManagerClient
    read_connection: ReadConnectionFactory
    authenticate: Authenticate
    authenticate_token: AuthenticateToken
    telemetry: TelemetryCache
    #: signs bearer tokens and login cookies
    tokens: TokenSigner
    #: keypairs asked of the manager, remembered briefly
    keypairs: KeypairCache

    def forget_keypair(self, access_key: str) -> None:
        """Stop trusting what is remembered of a keypair (it was just revoked)."""
        self.keypairs.forget(access_key)

    async def read(
        self, query: Callable[Concatenate[Reader, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``query(conn, *args, **kwargs)`` on a worker thread with its own connection."""

        def run() -> T:
            with self.read_connection() as conn:
                return query(conn, *args, **kwargs)

        return await anyio.to_thread.run_sync(run)
