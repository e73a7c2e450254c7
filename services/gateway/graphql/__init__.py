"""GraphQL for the gateway: ``/graphql`` over HTTP and WebSocket (graphql-transport-ws).

Queries read only the read models (through :mod:`projections.queries` and
:mod:`.reads`), mutations send the REST API's commands to the manager as the
caller, subscriptions are pushed when a projection runner commits (see :mod:`.feed`).
"""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.graphql.router import BerthGraphQLRouter
from services.gateway.graphql.schema import build_schema
from services.gateway.state import GatewayState

__all__ = ["graphql_router"]


def graphql_router(state: GatewayState, path: str = "/graphql") -> APIRouter:
    """The router to include in the gateway's app; it serves ``path``."""
    return BerthGraphQLRouter(build_schema(), state, path=path)
