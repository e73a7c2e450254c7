"""Who is asking: the one place a request's credentials become a :class:`Principal`.

Three ways, tried in this order: an ``Authorization`` header (a signature or a
bearer token), then the login cookie. The principal is remembered on the
connection's scope, so a request checked twice (a route and the GraphQL context,
say) is verified once, and its signature counts once against replays.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from starlette.requests import HTTPConnection, Request

from services.gateway.auth.cookies import COOKIE_NAME, check_csrf
from services.gateway.auth.hmac import (
    CONTENT_HASH_HEADER,
    DATE_HEADER,
    SCHEME,
    ReplayCache,
    SignatureError,
    SignedRequest,
    check_freshness,
    parse_authorization,
    parse_date,
    verify_signature,
)
from services.gateway.auth.keypairs import KeypairCache, KeypairRecord
from services.gateway.auth.tokens import TokenError, TokenSigner, Use
from services.gateway.errors import unauthenticated
from services.gateway.state import Principal

SCOPE_KEY = "berth.principal"
#: how the principal proved itself: ``signature``, ``bearer`` or ``session`` (the cookie)
METHOD_KEY = "berth.auth-method"


def auth_method(conn: HTTPConnection) -> str | None:
    method = conn.scope.get(METHOD_KEY)
    return method if isinstance(method, str) else None


def path_with_query(conn: HTTPConnection) -> str:
    """The request target as the client sent it: raw path, and ``?query`` when there is one."""
    raw = conn.scope.get("raw_path") or conn.scope["path"].encode()
    query = conn.scope.get("query_string", b"")
    target = bytes(raw).decode("latin-1")
    return f"{target}?{bytes(query).decode('latin-1')}" if query else target


class Authenticator:
    def __init__(
        self,
        keypairs: KeypairCache,
        tokens: TokenSigner,
        replays: ReplayCache,
        *,
        clock_skew: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._keypairs = keypairs
        self._tokens = tokens
        self._replays = replays
        self._skew = clock_skew
        self._clock = clock

    async def __call__(self, conn: HTTPConnection) -> Principal:
        """The caller of an HTTP request or WebSocket; :class:`ApiError` 401/403 if none."""
        known = conn.scope.get(SCOPE_KEY)
        if isinstance(known, Principal):
            return known
        header = conn.headers.get("authorization")
        if header is not None:
            if header.startswith(SCHEME):
                principal, method = await self._signed(conn, header), "signature"
            elif header[:7].lower() == "bearer ":
                principal, method = await self.token(header[7:].strip()), "bearer"
            else:
                raise unauthenticated(
                    "unauthenticated", f"the Authorization scheme must be {SCHEME} or Bearer"
                )
        elif (cookie := conn.cookies.get(COOKIE_NAME)) is not None:
            principal, method = await self.token(cookie, use="session"), "session"
            check_csrf(conn)
        else:
            raise unauthenticated(
                "unauthenticated",
                "sign the request with a keypair, or send a bearer token or the login cookie",
            )
        conn.scope[SCOPE_KEY] = principal
        conn.scope[METHOD_KEY] = method
        return principal

    async def token(self, token: str, use: Use = "bearer") -> Principal:
        """The principal of a bearer token (or, with ``use="session"``, of a login cookie)."""
        try:
            claims = self._tokens.verify(token, use, self._clock())
        except TokenError as exc:
            raise unauthenticated(exc.code, exc.message) from None
        return (await self._keypairs.get(claims.access_key)).principal

    async def keypair(self, access_key: str) -> KeypairRecord:
        return await self._keypairs.get(access_key)

    async def _signed(self, conn: HTTPConnection, header: str) -> Principal:
        try:
            access_key, signature = parse_authorization(header)
            date_text = conn.headers.get(DATE_HEADER)
            content_sha256 = conn.headers.get(CONTENT_HASH_HEADER)
            if not date_text or content_sha256 is None:
                raise SignatureError(
                    "bad-signature",
                    "a signed request needs X-Berth-Date and X-Berth-Content-SHA256",
                )
            now = self._clock()
            date = parse_date(date_text)
            check_freshness(date, now, self._skew)
            record = await self._keypairs.get(access_key)
            body = await conn.body() if isinstance(conn, Request) else b""
            signed = SignedRequest(
                method=str(conn.scope.get("method", "GET")),
                path_with_query=path_with_query(conn),
                host=conn.headers.get("host", ""),
                date=date_text,
                content_type=conn.headers.get("content-type", ""),
                content_sha256=content_sha256,
            )
            verify_signature(record.secret_key, signed, signature, body)
            self._replays.remember(signature, date, now)
        except SignatureError as exc:
            raise unauthenticated(exc.code, exc.message) from None
        return record.principal
