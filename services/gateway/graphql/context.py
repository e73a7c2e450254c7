"""What every resolver gets: the gateway's state, the change feed, and who is asking.

HTTP requests are authenticated before the operation runs (a failure is the
REST API's 401, with its error body). A WebSocket may authenticate at the
upgrade (signed headers, bearer token, cookie) or in its ``connection_init``
payload (``{"authorization": "Bearer <token>"}``, for browsers, which cannot
set headers on a WebSocket); a socket with neither is closed with 4403.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext

from services.gateway.errors import ApiError, unauthenticated
from services.gateway.graphql.errors import as_graphql
from services.gateway.graphql.feed import ChangeFeed
from services.gateway.state import GatewayState, Principal


class BerthContext(BaseContext):
    def __init__(self, state: GatewayState, feed: ChangeFeed, principal: Principal | None) -> None:
        super().__init__()
        self.state = state
        self.feed = feed
        self.principal = principal

    @property
    def viewer(self) -> Principal:
        """The authenticated caller (every operation has one; this guards the type)."""
        if self.principal is None:
            raise as_graphql(unauthenticated("unauthenticated", "authenticate first"))
        return self.principal


async def authenticate_connection(
    state: GatewayState, connection: HTTPConnection
) -> Principal | None:
    """The caller of an HTTP request (or its 401), or of a WebSocket upgrade (or None)."""
    if connection.scope["type"] != "websocket":
        return await state.authenticate(connection)
    try:
        return await state.authenticate(connection)
    except ApiError:
        return None  # it may still authenticate in its connection_init message


def authorization_param(params: object) -> str | None:
    """The ``authorization`` value of a ``connection_init`` payload, any key case."""
    if not isinstance(params, dict):
        return None
    for key, value in params.items():
        if isinstance(key, str) and key.lower() == "authorization" and isinstance(value, str):
            return value
    return None


async def authenticate_init(state: GatewayState, value: str) -> Principal:
    """The caller named by a ``connection_init`` authorization value (``Bearer <token>``)."""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated(
            "unauthenticated", "connection_init authorization must be 'Bearer <token>'"
        )
    return await state.authenticate_token(token.strip())
