"""The dependencies every route declares: the shared state and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.gateway.errors import forbidden
from services.gateway.state import GatewayState, Principal


async def get_state(request: Request) -> GatewayState:
    # Async on purpose: FastAPI runs a plain ``def`` dependency on a worker thread, a
    # thread hop per request for a dictionary lookup.
    state: GatewayState = request.app.state.gateway
    return state


State = Annotated[GatewayState, Depends(get_state)]


async def current_principal(request: Request) -> Principal:
    # The state fetched directly rather than as a sub-dependency: one dependency fewer
    # for FastAPI to solve on every authenticated request.
    state = await get_state(request)
    return await state.authenticate(request)


Caller = Annotated[Principal, Depends(current_principal)]


async def current_admin(caller: Caller) -> Principal:
    """A superadmin or a domain admin; the manager checks each command's scope again."""
    if caller.role == "user":
        raise forbidden(f"{caller.username!r} is not an administrator")
    return caller


Admin = Annotated[Principal, Depends(current_admin)]


async def current_superadmin(caller: Caller) -> Principal:
    if not caller.is_superadmin:
        raise forbidden("only a superadmin may do this")
    return caller


Superadmin = Annotated[Principal, Depends(current_superadmin)]
