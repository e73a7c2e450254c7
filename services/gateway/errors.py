"""One error model for every refusal: ``{"error": {"code": ..., "message": ...}}``.

Routes raise :class:`ApiError`; FastAPI's own validation errors (422) and
Starlette's 404/405 are rewritten into the same model; anything unexpected is
logged with its traceback and answered 500 without one. A manager refusal
keeps the manager's code and gets the HTTP status its kind calls for.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events.commands import CommandReply

log = logging.getLogger("berth.gateway")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


_DESCRIPTIONS = {
    400: "Bad request, or refused by the manager for bad input",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Body too large",
    422: "Invalid input",
    500: "The gateway failed",
    502: "The manager or an agent answered wrongly",
    503: "The manager, an agent or the read models are unavailable",
    504: "An agent timed out",
}

#: every route may answer with the one error model (for the OpenAPI document)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in _DESCRIPTIONS.items()
}

#: the same, spelled out as JSON for a route whose own answer is not JSON
JSON_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, description in _DESCRIPTIONS.items()
}


def unauthenticated(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, {"WWW-Authenticate": "BERTH-HMAC-SHA256, Bearer"})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not-found", message)


def unavailable(message: str) -> ApiError:
    return ApiError(503, "unavailable", message)


#: manager codes whose HTTP status is not told by their shape (see :func:`status_for`)
_EXACT: dict[str, int] = {
    "unauthenticated": 401,
    "forbidden": 403,
    "quota-exceeded": 403,
    "not-a-member": 403,
    "resource-group-not-allowed": 403,
    "too-large": 413,
    "conflict": 409,
    "already-ended": 409,
    "invalid-state": 409,
    "user-deactivated": 409,
    "keypair-revoked": 409,
}


def status_for(code: str) -> int:
    """The HTTP status for a manager refusal code, chosen by its kind.

    Something named by the request that does not exist is 404 (``*-not-found``);
    a reference inside a body that names nothing known (``unknown-*``), and any
    malformed or impossible input (``invalid-*``, ``missing-*``, ``unschedulable``)
    is 400; what exists already or cannot change from its state is 409.
    """
    if code in _EXACT:
        return _EXACT[code]
    if code.endswith("-not-found"):
        return 404
    if code.endswith("-exists"):
        return 409
    return 400


def refusal(reply: CommandReply) -> ApiError:
    """The manager said no: its code, its message, the status of its kind."""
    if reply.error is None:
        return ApiError(502, "bad-reply", "the manager refused without a reason")
    return ApiError(status_for(reply.error.code), reply.error.code, reply.error.message)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _validation_message(errors: Any) -> str:
    parts = []
    for error in list(errors)[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is invalid"


_HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
}


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "invalid", _validation_message(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    if exc.status_code == 404:
        message = f"no route {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, code, message, headers)


class UnhandledErrors:
    """Anything no handler took: logged once with its traceback, answered 500 without it.

    An ASGI middleware rather than an exception handler, so the error is not
    raised on to the server (which would log it a second time).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            if started:
                raise  # too late for an answer of our own; the server ends the response
            response = error_response(
                500, "internal", "the gateway failed to answer; the error is logged"
            )
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(UnhandledErrors)
