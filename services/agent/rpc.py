"""The agent's direct answers over core NATS: a kernel's logs and ``exec`` in it.

Contracts in :mod:`events.agent_rpc`. A log is read from the container while it
exists and from the archive once it ended; following it is repeated requests
with ``wait``, each answered as soon as there is more or the kernel ended.
"""

from __future__ import annotations

import asyncio
import logging
import time
from uuid import UUID

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from events.agent_rpc import (
    EXEC,
    LOGS,
    MAX_CHUNK,
    ExecReply,
    ExecRequest,
    LogsReply,
    LogsRequest,
    RpcError,
    agent_rpc_subject,
)
from services.agent.kernels import KernelSupervisor
from services.agent.runtime import RuntimeFailure

log = logging.getLogger("berth.agent")

#: the longest a ``logs`` request may wait for more output
MAX_WAIT = 30.0
POLL = 0.1


class AgentRpc:
    def __init__(self, nc: NATS, supervisor: KernelSupervisor) -> None:
        self._nc = nc
        self._sup = supervisor
        self._subs: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        agent_id = self._sup.agent_id
        self._subs = [
            await self._nc.subscribe(agent_rpc_subject(agent_id, LOGS), cb=self._concurrently),
            await self._nc.subscribe(agent_rpc_subject(agent_id, EXEC), cb=self._concurrently),
        ]

    async def _concurrently(self, msg: Msg) -> None:
        # nats-py runs one subscription's callbacks one after another; a log
        # request that waits for output must not hold up the others.
        handler = self._on_logs if msg.subject.endswith(f".{LOGS}") else self._on_exec
        task = asyncio.get_running_loop().create_task(handler(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for sub in self._subs:
            await sub.unsubscribe()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _current(self, kernel_id: UUID) -> tuple[bytes, bool] | None:
        """(output so far, finished) or None for a kernel this node never had."""
        run = self._sup.runs.get(kernel_id)
        if run is not None and not run.ended.is_set():
            data = await self._sup.call(self._sup.runtime.logs, run.container_id)
            if data is not None:
                return data, False
        archived = await asyncio.to_thread(self._sup.archive.read, kernel_id)
        if archived is not None:
            return archived, True
        if kernel_id in self._sup.desired.kernels or run is not None:
            return b"", False  # assigned, not started yet (or between states)
        return None

    async def logs(self, request: LogsRequest) -> LogsReply:
        deadline = time.monotonic() + min(max(request.wait, 0.0), MAX_WAIT)
        limit = min(max(request.limit, 1), MAX_CHUNK)
        while True:
            current = await self._current(request.kernel_id)
            if current is None:
                return LogsReply(
                    ok=False,
                    error=RpcError("kernel-not-found", f"no kernel {request.kernel_id} here"),
                )
            data, finished = current
            start = max(0, len(data) + request.offset) if request.offset < 0 else request.offset
            start = min(start, len(data))
            if len(data) > start or finished or time.monotonic() >= deadline:
                chunk = data[start : start + limit]
                end = start + len(chunk)
                return LogsReply(
                    ok=True,
                    data=chunk.decode("utf-8", errors="replace"),
                    next_offset=end,
                    finished=finished and end >= len(data),
                )
            await asyncio.sleep(POLL)

    async def exec(self, request: ExecRequest) -> ExecReply:
        run = self._sup.runs.get(request.kernel_id)
        if run is None or run.ended.is_set():
            code = (
                "kernel-not-running"
                if request.kernel_id in self._sup.desired.kernels
                else ("kernel-not-found")
            )
            return ExecReply(ok=False, error=RpcError(code, "the kernel is not running here"))
        if not request.command:
            return ExecReply(ok=False, error=RpcError("bad-request", "the command is empty"))
        try:
            exit_code, output = await asyncio.wait_for(
                self._sup.call(
                    self._sup.runtime.exec, run.container_id, request.command, request.environ
                ),
                timeout=max(request.timeout, 0.1),
            )
        except TimeoutError:
            return ExecReply(
                ok=False, error=RpcError("timeout", f"no answer within {request.timeout:g}s")
            )
        except RuntimeFailure as exc:
            return ExecReply(ok=False, error=RpcError("runtime", str(exc)))
        return ExecReply(
            ok=True,
            exit_code=exit_code,
            output=output[:MAX_CHUNK].decode("utf-8", errors="replace"),
            truncated=len(output) > MAX_CHUNK,
        )

    async def _on_logs(self, msg: Msg) -> None:
        try:
            request = msgspec.json.decode(msg.data, type=LogsRequest)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            reply = LogsReply(ok=False, error=RpcError("bad-request", str(exc)))
        else:
            reply = await self.logs(request)
        await msg.respond(msgspec.json.encode(reply))

    async def _on_exec(self, msg: Msg) -> None:
        try:
            request = msgspec.json.decode(msg.data, type=ExecRequest)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            exec_reply = ExecReply(ok=False, error=RpcError("bad-request", str(exc)))
        else:
            exec_reply = await self.exec(request)
        await msg.respond(msgspec.json.encode(exec_reply))
