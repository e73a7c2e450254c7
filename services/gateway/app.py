"""Wires the gateway: settings, NATS, the manager client, the read models, authentication,
the REST routers and GraphQL. The only place where the gateway's parts meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from nats.aio.client import Client as NATS

from projections.queries import InvalidCursor
from services.gateway.auth.hmac import ReplayCache
from services.gateway.auth.keypairs import KeypairCache
from services.gateway.auth.principal import Authenticator
from services.gateway.auth.tokens import TokenSigner, load_gateway_key
from services.gateway.body_limit import BodyLimit
from services.gateway.deps import State
from services.gateway.errors import (
    ERROR_RESPONSES,
    error_response,
    install_error_handlers,
    unavailable,
)
from services.gateway.hot_path import SessionCreatePath
from services.gateway.read_models import ReadModels, ReadModelsUnavailable
from services.gateway.routes import admin, auth, cluster, sessions
from services.gateway.schemas.common import Ok
from services.gateway.settings import GatewaySettings
from services.gateway.state import GatewayState
from services.gateway.telemetry import TelemetryCache
from services.manager.client import ManagerClient

log = logging.getLogger("berth.gateway")


def build_state(settings: GatewaySettings) -> tuple[GatewayState, ReadModels]:
    """Everything the routes share; connections are opened by the app's lifespan."""
    nc = NATS()
    manager = ManagerClient(nc, timeout=settings.request_timeout)
    read_models = ReadModels(settings.read_store)
    tokens = TokenSigner(load_gateway_key(settings.key_path))
    keypairs = KeypairCache(manager, settings.keypair_cache_ttl)
    authenticator = Authenticator(
        keypairs, tokens, ReplayCache(settings.clock_skew), clock_skew=settings.clock_skew
    )
    state = GatewayState(
        settings=settings,
        nc=nc,
        manager=manager,
        read_connection=read_models.connection,
        authenticate=authenticator,
        authenticate_token=authenticator.token,
        telemetry=TelemetryCache(),
        tokens=tokens,
        keypairs=keypairs,
    )
    return state, read_models


def _mount_graphql(app: FastAPI, state: GatewayState) -> None:
    """GraphQL lives in its own package; the REST API works without it."""
    try:
        module = importlib.import_module("services.gateway.graphql")
    except ModuleNotFoundError as exc:
        if exc.name != "services.gateway.graphql":
            raise
        module = None
    factory = getattr(module, "graphql_router", None)
    if factory is None:
        log.warning("GraphQL is not available: no services.gateway.graphql.graphql_router")
        return
    # The GraphQL router serves ``/graphql`` itself (HTTP and WebSocket).
    app.include_router(factory(state))


async def _read_models_unavailable(_: Request, exc: Exception) -> JSONResponse:
    return error_response(503, "unavailable", str(exc))


async def _invalid_cursor(_: Request, exc: Exception) -> JSONResponse:
    return error_response(400, "bad-request", str(exc))


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings.from_env()
    state, read_models = build_state(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await state.nc.connect(settings.nats.url, name="berth-gateway", max_reconnect_attempts=-1)
        read_models.open()
        await state.telemetry.start(state.nc)
        log.info("gateway on %s:%d, NATS %s", settings.host, settings.port, settings.nats.url)
        try:
            yield
        finally:
            await state.telemetry.stop()
            # With nats-server gone (the stack killed), draining would wait for a
            # reconnection forever: give it a few seconds, then close.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(state.nc.drain(), 5.0)
            await state.nc.close()
            read_models.close()

    app = FastAPI(
        title="Berth",
        version="1",
        description="Berth's REST API: compute sessions, the cluster, tenants.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        # Berth sets up no OpenTelemetry; off, FastAPI does not look for providers
        # (three environment lookups and more) on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.gateway = state
    # Innermost of the middlewares, so the body limit and the 500 handler added after
    # it (around it) cover the hot path too.
    app.add_middleware(SessionCreatePath)
    install_error_handlers(app)
    app.add_exception_handler(ReadModelsUnavailable, _read_models_unavailable)
    app.add_exception_handler(InvalidCursor, _invalid_cursor)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    @app.get("/v1/health", response_model=Ok, tags=["health"])
    async def health(state: State) -> Ok:
        """No authentication; 503 while the gateway has no connection to NATS."""
        if not state.nc.is_connected:
            raise unavailable("the gateway is not connected to NATS")
        return Ok(ok=True)

    for router in (auth.router, sessions.router, cluster.router, admin.router):
        app.include_router(router)
    _mount_graphql(app, state)
    return app
