"""An agent's logs and exec answers on NATS, for the sessions the simulated agents run.

Simulated agents run no containers, so they answer neither; this stands in for
the Podman agent's side of ``events/agent_rpc.py``, in a thread of its own.
"""

from __future__ import annotations

import asyncio
import threading
from uuid import UUID

import msgspec
import nats
from nats.aio.msg import Msg

from events.agent_rpc import (
    AGENT_RPC_PREFIX,
    ExecReply,
    ExecRequest,
    LogsReply,
    LogsRequest,
    RpcError,
)

#: what every kernel "printed", in the pieces a follower receives
LOG_PIECES = ("starting\n", "working\n", "done\n")


class FakeAgentRpc:
    def __init__(self, nats_url: str) -> None:
        self._url = nats_url
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.finished: set[UUID] = set()
        self.exec_requests: list[ExecRequest] = []

    def __enter__(self) -> FakeAgentRpc:
        self._thread.start()
        if not self._ready.wait(30):
            raise AssertionError("the fake agent did not connect")
        return self

    def __exit__(self, *_: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        nc = await nats.connect(self._url)
        await nc.subscribe(f"{AGENT_RPC_PREFIX}.*.logs", cb=self._logs)
        await nc.subscribe(f"{AGENT_RPC_PREFIX}.*.exec", cb=self._exec)
        await nc.flush()
        self._ready.set()
        await self._stop.wait()
        await nc.close()

    async def _logs(self, msg: Msg) -> None:
        request = msgspec.json.decode(msg.data, type=LogsRequest)
        text = "".join(LOG_PIECES)
        # One piece per request, as if the kernel printed them over time; the
        # kernel ends after its last piece.
        end = max(_next_piece_end(request.offset), request.offset)
        reply = LogsReply(
            ok=True,
            data=text[request.offset : end],
            next_offset=end,
            finished=end >= len(text),
        )
        await msg.respond(msgspec.json.encode(reply))

    async def _exec(self, msg: Msg) -> None:
        request = msgspec.json.decode(msg.data, type=ExecRequest)
        self.exec_requests.append(request)
        if request.command[:1] == ["false"]:
            reply = ExecReply(ok=True, exit_code=1, output="")
        elif request.command[:1] == ["missing"]:
            reply = ExecReply(
                ok=False, error=RpcError("kernel-not-running", "the kernel has exited")
            )
        else:
            reply = ExecReply(ok=True, exit_code=0, output=" ".join(request.command) + "\n")
        await msg.respond(msgspec.json.encode(reply))


def _next_piece_end(offset: int) -> int:
    end = 0
    for piece in LOG_PIECES:
        end += len(piece)
        if end > offset:
            return end
    return end
