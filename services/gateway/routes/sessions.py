"""``/v1/sessions``: ask for sessions, list and inspect them, read their logs, run commands in
them, stop them. Reads come from the read models; commands go to the manager."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse, StreamingResponse

from events import commands as cmd
from projections import queries
from projections.queries import KernelRow, SessionRow
from services.gateway.agent_calls import follow_logs, read_logs, run_exec
from services.gateway.commands import request_id, send
from services.gateway.deps import Caller, State
from services.gateway.errors import JSON_ERROR_RESPONSES, ApiError, forbidden, not_found
from services.gateway.hot_path import accept_session
from services.gateway.schemas.sessions import (
    ExecIn,
    ExecOut,
    KernelUsageOut,
    SessionAccepted,
    SessionCreate,
    SessionHistory,
    SessionOut,
    SessionPage,
    SessionTelemetry,
    StatusChangeOut,
)
from services.gateway.state import GatewayState, Principal

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

NEXT_OFFSET_HEADER = "X-Berth-Next-Offset"
KernelIndex = Annotated[int, Query(ge=0, le=63, description="which kernel (0: the main one)")]


def _out(row: SessionRow) -> SessionOut:
    return SessionOut.model_validate(dataclasses.asdict(row))


async def _visible(state: GatewayState, caller: Principal, session_id: str) -> SessionRow:
    row = await state.read(queries.get_session, session_id, visible_to=caller.visibility)
    if row is None:
        raise not_found(f"no session {session_id} visible to you")
    return row


def _kernel(row: SessionRow, index: int) -> KernelRow:
    for kernel in row.kernels:
        if kernel.index == index:
            return kernel
    raise ApiError(
        409, "conflict", f"session {row.id} has no kernel {index} placed (it is {row.status})"
    )


@router.post("", status_code=201, response_model=SessionAccepted)
async def create_session(body: SessionCreate, state: State, caller: Caller) -> SessionAccepted:
    """Returns as soon as the manager has decided and stored the request."""
    # Declared here for the OpenAPI document; the gateway answers these requests in
    # services/gateway/hot_path.py before routing, with the same models and decision.
    return await accept_session(state, caller, body)


@router.get("", response_model=SessionPage)
async def list_sessions(
    state: State,
    caller: Caller,
    status: Annotated[
        str | None, Query(max_length=200, description="comma-separated, e.g. RUNNING,PENDING")
    ] = None,
    project: Annotated[str | None, Query(max_length=64)] = None,
    owner: Annotated[str | None, Query(max_length=128, description="an access key")] = None,
    name: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> SessionPage:
    statuses = [s.strip() for s in status.split(",") if s.strip()] if status else None
    page = await state.read(
        queries.list_sessions,
        visible_to=caller.visibility,
        statuses=statuses,
        project=project,
        owner=owner,
        name=name,
        limit=limit,
        cursor=cursor,
    )
    return SessionPage(items=[_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(session_id: str, state: State, caller: Caller) -> SessionOut:
    return _out(await _visible(state, caller, session_id))


@router.get("/{session_id}/history", response_model=SessionHistory)
async def session_history(session_id: str, state: State, caller: Caller) -> SessionHistory:
    changes = await state.read(queries.session_history, session_id, visible_to=caller.visibility)
    if changes is None:
        raise not_found(f"no session {session_id} visible to you")
    return SessionHistory(items=[StatusChangeOut(**dataclasses.asdict(c)) for c in changes])


@router.get(
    "/{session_id}/logs",
    response_class=PlainTextResponse,
    responses={
        **JSON_ERROR_RESPONSES,
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "The kernel's output from ``offset``; with ``follow``, streamed.",
        },
    },
)
async def session_logs(
    session_id: str,
    state: State,
    caller: Caller,
    offset: Annotated[
        int,
        Query(ge=-(2**53), le=2**53, description="byte offset; negative: that many from the end"),
    ] = 0,
    follow: bool = False,
    kernel: KernelIndex = 0,
) -> Response:
    row = await _visible(state, caller, session_id)
    target = _kernel(row, kernel)
    timeout = state.settings.request_timeout
    first = await read_logs(state.nc, target.agent_id, target.kernel_id, offset, timeout)
    if not follow or first.finished:
        return PlainTextResponse(first.data, headers={NEXT_OFFSET_HEADER: str(first.next_offset)})

    async def stream() -> AsyncIterator[str]:
        if first.data:
            yield first.data
        async for chunk in follow_logs(
            state.nc, target.agent_id, target.kernel_id, first.next_offset, timeout
        ):
            yield chunk

    return StreamingResponse(stream(), media_type="text/plain; charset=utf-8")


@router.post("/{session_id}/exec", response_model=ExecOut)
async def session_exec(
    session_id: str, body: ExecIn, state: State, caller: Caller, kernel: KernelIndex = 0
) -> ExecOut:
    row = await _visible(state, caller, session_id)
    if not queries.can_control(caller.visibility, row):
        raise forbidden(f"session {session_id} is not yours: you may read it, not run commands")
    target = _kernel(row, kernel)
    reply = await run_exec(
        state.nc,
        target.agent_id,
        target.kernel_id,
        list(body.command),
        body.timeout,
        dict(body.environ),
    )
    return ExecOut(exit_code=reply.exit_code, output=reply.output, truncated=reply.truncated)


@router.delete("/{session_id}", status_code=202, response_model=SessionAccepted)
async def destroy_session(session_id: str, state: State, caller: Caller) -> SessionAccepted:
    """Cancels a pending session, stops a live one; returns once the manager has decided."""
    row = await state.read(queries.get_session, session_id, visible_to=caller.visibility)
    if row is not None and not queries.can_control(caller.visibility, row):
        raise forbidden(f"session {session_id} is not yours: you may read it, not destroy it")
    command = cmd.DestroySession(
        request_id=request_id(None),
        actor=caller.access_key,
        session_id=session_id,
        reason=f"destroyed by {caller.username}",
    )
    reply = await send(state.manager, cmd.DESTROY_SESSION, command)
    status = (reply.data or {}).get("status")
    if status is None:
        # The manager's reply does not say; a pending session is cancelled, others stop.
        status = "CANCELLED" if row is not None and row.status == "PENDING" else "TERMINATING"
    return SessionAccepted(session_id=reply.session_id or session_id, status=status)


@router.get("/{session_id}/telemetry", response_model=SessionTelemetry)
async def session_telemetry(session_id: str, state: State, caller: Caller) -> SessionTelemetry:
    row = await _visible(state, caller, session_id)
    items = []
    for kernel in row.kernels:
        found = state.telemetry.kernel(UUID(kernel.kernel_id))
        if found is None:
            continue
        usage = found.usage
        items.append(
            KernelUsageOut(
                kernel_id=kernel.kernel_id,
                agent_id=str(found.agent_id),
                index=kernel.index,
                observed_at=found.observed_at.isoformat(),
                cpu_percent=usage.cpu_percent,
                mem_bytes=usage.mem_bytes,
                mem_limit_bytes=usage.mem_limit_bytes,
                accelerators=usage.accelerators,
            )
        )
    return SessionTelemetry(items=items)
