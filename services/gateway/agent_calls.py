"""Asking a session's agent directly: a slice of a kernel's log, or a command run in it.

Requests go to ``berth.agent.<agent-id>.logs|exec`` (events/agent_rpc.py). An
agent that does not answer is 503; its own refusals keep their code, with the
status their kind calls for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import msgspec
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError

from events.agent_rpc import (
    EXEC,
    LOGS,
    ExecReply,
    ExecRequest,
    LogsReply,
    LogsRequest,
    RpcError,
    agent_rpc_subject,
)
from services.gateway.errors import ApiError, unavailable

_encoder = msgspec.json.Encoder()

_STATUS = {
    "kernel-not-found": 404,
    "kernel-not-running": 409,
    "bad-request": 400,
    "timeout": 504,
    "runtime": 502,
}

#: seconds one ``logs`` request of a follow waits for new output at the agent
FOLLOW_WAIT = 10.0
#: beyond what the agent itself waits: the network, a busy agent
MARGIN = 5.0


def _refused(error: RpcError | None) -> ApiError:
    if error is None:
        return ApiError(502, "bad-reply", "the agent refused without a reason")
    return ApiError(_STATUS.get(error.code, 502), error.code, error.message)


async def _ask(nc: NATS, agent_id: str, op: str, body: msgspec.Struct, timeout: float) -> bytes:
    try:
        reply = await nc.request(agent_rpc_subject(agent_id, op), _encoder.encode(body), timeout)
    except (NatsError, TimeoutError) as exc:
        raise unavailable(f"agent {agent_id} did not answer ({type(exc).__name__})") from None
    data: bytes = reply.data
    return data


async def read_logs(
    nc: NATS, agent_id: str, kernel_id: str, offset: int, timeout: float, wait: float = 0.0
) -> LogsReply:
    request = LogsRequest(kernel_id=UUID(kernel_id), offset=offset, wait=wait)
    data = await _ask(nc, agent_id, LOGS, request, timeout + wait)
    try:
        reply = msgspec.json.decode(data, type=LogsReply)
    except msgspec.DecodeError:
        raise ApiError(502, "bad-reply", f"agent {agent_id} answered unreadably") from None
    if not reply.ok:
        raise _refused(reply.error)
    return reply


async def follow_logs(
    nc: NATS, agent_id: str, kernel_id: str, offset: int, timeout: float
) -> AsyncIterator[str]:
    """The log from ``offset`` as it grows, until the kernel ends (or the agent goes quiet)."""
    while True:
        try:
            reply = await read_logs(nc, agent_id, kernel_id, offset, timeout, wait=FOLLOW_WAIT)
        except ApiError:
            return  # headers are sent already: the stream just ends
        if reply.data:
            yield reply.data
        offset = reply.next_offset
        if reply.finished:
            return


async def run_exec(
    nc: NATS,
    agent_id: str,
    kernel_id: str,
    command: list[str],
    timeout: float,
    environ: dict[str, str],
) -> ExecReply:
    request = ExecRequest(
        kernel_id=UUID(kernel_id), command=command, timeout=timeout, environ=environ
    )
    data = await _ask(nc, agent_id, EXEC, request, timeout + MARGIN)
    try:
        reply = msgspec.json.decode(data, type=ExecReply)
    except msgspec.DecodeError:
        raise ApiError(502, "bad-reply", f"agent {agent_id} answered unreadably") from None
    if not reply.ok:
        raise _refused(reply.error)
    return reply
