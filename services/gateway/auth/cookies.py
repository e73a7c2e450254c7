"""Browser sessions: the login cookie, and the header that shows a request is no forgery.

After ``POST /v1/auth/login`` the browser holds ``berth_session`` (HttpOnly,
Secure, SameSite=Strict): a token of the ``session`` kind. Browsers attach
cookies to requests other sites make them send, so an unsafe request
authenticated by the cookie alone must also carry ``X-Berth-CSRF: 1``, a header
no cross-site form can set and cross-site scripts may only set after a CORS
preflight this gateway never grants.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import Response

from services.gateway.errors import forbidden

COOKIE_NAME = "berth_session"
CSRF_HEADER = "x-berth-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def set_session_cookie(response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, secure=True, samesite="strict")


def check_csrf(conn: HTTPConnection) -> None:
    """Refuse an unsafe cookie-authenticated request without ``X-Berth-CSRF: 1``."""
    if conn.scope["type"] != "http":
        return
    method = str(conn.scope.get("method", "GET")).upper()
    if method not in SAFE_METHODS and conn.headers.get(CSRF_HEADER) != "1":
        raise forbidden(
            f"a {method} request authenticated by cookie needs the header X-Berth-CSRF: 1"
        )
