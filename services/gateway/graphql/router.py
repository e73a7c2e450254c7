"""The FastAPI router that serves the schema, and authenticates every operation's caller.

A request refused before its operation runs (a body that is not JSON or nested
too deeply to read, no query, a subscription over HTTP...) is answered with the
REST API's error model, like every other refusal of the gateway, rather than
strawberry's plain text.
"""

from __future__ import annotations

from typing import Any, cast, overload

from cross_web import HTTPException as RefusedByView
from fastapi import Response
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from services.gateway.errors import ApiError
from services.gateway.graphql.context import (
    BerthContext,
    authenticate_connection,
    authenticate_init,
    authorization_param,
)
from services.gateway.graphql.feed import ChangeFeed
from services.gateway.state import GatewayState


class BerthGraphQLRouter(GraphQLRouter[BerthContext, None]):
    def __init__(self, schema: BaseSchema, state: GatewayState, *, path: str) -> None:
        self.state = state
        self.feed = ChangeFeed(state.nc)

        async def context(connection: HTTPConnection) -> BerthContext:
            return BerthContext(state, self.feed, await authenticate_connection(state, connection))

        super().__init__(
            schema,
            path=path,
            context_getter=context,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # Browsers must not drive a socket authenticated by their cookie from another
            # site: cross-origin upgrades are refused (the default: no origin is allowed).
            allowed_origins=(),
        )

    @overload
    async def run(
        self, request: Request, context: BerthContext = UNSET, root_value: None = UNSET
    ) -> Response: ...

    @overload
    async def run(
        self, request: WebSocket, context: BerthContext = UNSET, root_value: None = UNSET
    ) -> WebSocket: ...

    async def run(
        self,
        request: Request | WebSocket,
        context: BerthContext = UNSET,
        root_value: None = UNSET,
    ) -> Response | WebSocket:
        if isinstance(request, WebSocket):  # refused by closing it, not by an answer
            return await super().run(request, context, root_value)
        try:
            return await super().run(request, context, root_value)
        except RefusedByView as exc:  # the app's handler answers in the error model
            raise HTTPException(exc.status_code, exc.reason) from None

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return super().parse_json(data)
        except RecursionError:  # the decoder's own limit, well within the body's size limit
            raise RefusedByView(400, "the body is nested too deeply to read") from None

    async def on_ws_connect(self, context: BerthContext) -> UnsetType | dict[str, object] | None:
        """Authenticate by ``connection_init`` if it has a token; refuse a socket with none."""
        value = authorization_param(context.connection_params)
        try:
            if value is not None:
                context.principal = await authenticate_init(self.state, value)
        except ApiError as exc:
            raise ConnectionRejectionError({"code": exc.code, "message": exc.message}) from None
        if context.principal is None:
            raise ConnectionRejectionError(
                {
                    "code": "unauthenticated",
                    "message": "authenticate in connection_init or the upgrade",
                }
            )
        return cast(UnsetType, UNSET)
