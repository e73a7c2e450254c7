"""``/v1/auth``: bearer tokens for programs, login and logout for browsers, and who am I."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response

from services.gateway.auth.cookies import clear_session_cookie, set_session_cookie
from services.gateway.auth.principal import auth_method
from services.gateway.deps import Caller, State
from services.gateway.errors import ApiError, forbidden, unauthenticated
from services.gateway.schemas.auth import LoggedIn, Login, TokenCreate, TokenOut, WhoAmI
from services.gateway.schemas.common import Ok

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/tokens", status_code=201, response_model=TokenOut)
async def create_token(
    body: TokenCreate, request: Request, state: State, caller: Caller
) -> TokenOut:
    """A bearer token for the caller's access key, valid ``ttl_seconds``."""
    if auth_method(request) == "bearer":
        # Otherwise a token, once leaked, could be renewed for ever.
        raise forbidden("a bearer token cannot issue tokens; sign the request with the keypair")
    if body.ttl_seconds > state.settings.max_token_ttl:
        raise ApiError(
            422, "invalid", f"ttl_seconds: at most {state.settings.max_token_ttl} seconds"
        )
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=body.ttl_seconds)
    token = state.tokens.issue(caller.access_key, "bearer", expires_at)
    return TokenOut(token=token, expires_at=expires_at)


@router.post("/login", response_model=LoggedIn)
async def login(body: Login, response: Response, state: State) -> LoggedIn:
    """Checks the keypair and sets the ``berth_session`` cookie."""
    wrong = unauthenticated("unauthenticated", "the access key or the secret key is wrong")
    try:
        record = await state.keypairs.get(body.access_key)
    except ApiError as exc:
        if exc.status == 401:
            raise wrong from None  # never tell whether the access key exists
        raise
    if not hmac.compare_digest(record.secret_key.encode(), body.secret_key.encode()):
        raise wrong
    ttl = state.settings.cookie_ttl
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl)
    set_session_cookie(response, state.tokens.issue(body.access_key, "session", expires_at), ttl)
    principal = record.principal
    return LoggedIn(
        access_key=principal.access_key, username=principal.username, role=principal.role
    )


@router.post("/logout", response_model=Ok)
async def logout(response: Response) -> Ok:
    """Clears the cookie; the cookie's token itself ends at its expiry."""
    clear_session_cookie(response)
    return Ok(ok=True)


@router.get("/whoami", response_model=WhoAmI)
async def whoami(caller: Caller) -> WhoAmI:
    return WhoAmI(
        access_key=caller.access_key,
        user_id=caller.user_id,
        username=caller.username,
        role=caller.role,
        domain=caller.domain,
        projects=list(caller.projects),
    )
