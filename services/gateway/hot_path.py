"""``POST /v1/sessions``, the gateway's hot path, answered before FastAPI's routing.

Every session starts with this request, and programs send it in bursts. Through
FastAPI's router and dependency solving it cost about 340 µs of CPU per request
(in process, manager faked); most of it was the framework working out, per
request, what to call with what. :class:`SessionCreatePath` answers the same
request with the same parts in about 150 µs:

- the caller, by the gateway's :class:`~services.gateway.auth.principal.Authenticator`
  (signature, bearer token or cookie, exactly as for any route);
- the body, by the route's own model (:class:`SessionCreate`), read once;
- refusals answered by the app's own exception handlers, so in the one error
  model with the statuses and codes the routes give;
- the decision itself, by :func:`accept_session`, which the FastAPI route in
  ``routes/sessions.py`` also calls.

That route stays declared, so ``/openapi.json`` documents the operation from the
same models; a request only reaches it when this middleware is not installed.
It sits inside :class:`~services.gateway.body_limit.BodyLimit` and
:class:`~services.gateway.errors.UnhandledErrors`, so oversized bodies and
unexpected failures are handled as everywhere else.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from email.message import Message as MimeHeader
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from events import commands as cmd
from projections import queries
from services.gateway.commands import request_id, send
from services.gateway.schemas.sessions import SessionAccepted, SessionCreate
from services.gateway.state import GatewayState, Principal

PATH = "/v1/sessions"


async def accept_session(
    state: GatewayState, caller: Principal, body: SessionCreate
) -> SessionAccepted:
    """Ask the manager for the session; answered once it has decided and stored the request."""
    command = cmd.RequestSession(
        request_id=request_id(body.request_id),
        actor=caller.access_key,
        project=body.project,
        name=body.name,
        session_type=body.session_type,
        image=body.image,
        architecture=body.architecture,
        resources=dict(body.resources),
        cluster_size=body.cluster_size,
        environ=dict(body.environ),
        mounts=[
            cmd.MountRequest(source=m.source, target=m.target, read_only=m.read_only)
            for m in body.mounts
        ],
        startup_command=body.startup_command,
        batch_timeout=body.batch_timeout,
        priority=body.priority,
        depends_on=list(body.depends_on),
        starts_at=body.starts_at,
        resource_group=body.resource_group,
        designated_agent=body.designated_agent,
        requeue_on_agent_loss=body.requeue_on_agent_loss,
    )
    reply = await send(state.manager, cmd.REQUEST_SESSION, command)
    session_id = reply.session_id or ""
    status = "PENDING"
    if reply.duplicate:
        # The session this request made before; the read model may not have it yet.
        row = await state.read(queries.get_session, session_id, visible_to=caller.visibility)
        status = row.status if row is not None else status
    return SessionAccepted(session_id=session_id, status=status, duplicate=reply.duplicate)


def _is_json(content_type: str | None) -> bool:
    """As FastAPI reads a body: JSON when undeclared, ``application/json`` or ``…+json``."""
    if not content_type or content_type == "application/json":
        return True  # what clients send: no need to parse the header
    header = MimeHeader()
    header["content-type"] = content_type
    if header.get_content_maintype() != "application":
        return False
    subtype = header.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def _parse(body: bytes, content_type: str | None) -> SessionCreate:
    if not _is_json(content_type):
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "must be JSON (Content-Type: application/json)"}]
        )
    try:
        return SessionCreate.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


def _handler_for(handlers: Mapping[Any, Any], exc: Exception) -> Any:
    """The app's handler for ``exc``, found as Starlette's exception middleware finds it."""
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None  # unexpected: left to the 500 handler around this middleware
        if cls in handlers:
            return handlers[cls]
    return None


class SessionCreatePath:
    """ASGI middleware: ``POST /v1/sessions`` answered here, anything else passed on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self._answer(request)
        except Exception as exc:
            handler = _handler_for(request.app.exception_handlers, exc)
            if handler is None:
                raise
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        # The app's state, looked up per request as the routes do (tests replace it).
        state: GatewayState = request.app.state.gateway
        # Authenticated before the body is looked at: an unknown caller learns nothing
        # from the answer about its body.
        caller = await state.authenticate(request)
        body = _parse(await request.body(), request.headers.get("content-type"))
        accepted = await accept_session(state, caller, body)
        return Response(accepted.model_dump_json(), 201, media_type="application/json")
