"""A graphql-transport-ws client that drives the gateway's ASGI app in this process.

The ASGI messages are exactly those a server turns a WebSocket into, so the
gateway's router, authentication and protocol handling run unchanged; only the
TCP transport is left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import Any

from starlette.types import ASGIApp, Message

PROTOCOL = "graphql-transport-ws"


class Closed(Exception):
    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"closed with {code} {reason}".strip())
        self.code = code


class GraphQLWebSocket:
    def __init__(
        self, app: ASGIApp, path: str = "/graphql", headers: dict[str, str] | None = None
    ) -> None:
        self._app = app
        self._path = path
        self._headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        #: messages received for each operation id, not yet taken
        self._inbox: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._next_id = 0

    async def connect(self, init_payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Upgrade, then ``connection_init``; the ``connection_ack`` message, or :class:`Closed`."""
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "http_version": "1.1",
            "path": self._path,
            "raw_path": self._path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"gateway.test"),
                (b"sec-websocket-protocol", PROTOCOL.encode()),
                *self._headers,
            ],
            "subprotocols": [PROTOCOL],
            "client": ("127.0.0.1", 40000),
            "server": ("gateway.test", 80),
            "state": {},
        }
        self._task = asyncio.create_task(self._serve(scope))
        await self._to_app.put({"type": "websocket.connect"})
        accepted = await self._message()
        if accepted["type"] != "websocket.accept":
            raise Closed(accepted.get("code", 1000), accepted.get("reason", ""))
        assert accepted.get("subprotocol") == PROTOCOL
        await self.send({"type": "connection_init", "payload": init_payload or {}})
        ack = await self.receive()
        assert ack["type"] == "connection_ack", ack
        return ack

    async def _serve(self, scope: dict[str, Any]) -> None:
        await self._app(scope, self._to_app.get, self._from_app.put)

    async def _message(self, timeout: float = 30.0) -> Message:
        return await asyncio.wait_for(self._from_app.get(), timeout)

    async def send(self, message: dict[str, Any]) -> None:
        await self._to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive(self, timeout: float = 30.0) -> dict[str, Any]:
        message = await self._message(timeout)
        if message["type"] == "websocket.close":
            raise Closed(message.get("code", 1000), message.get("reason", ""))
        assert message["type"] == "websocket.send", message
        decoded: dict[str, Any] = json.loads(message["text"])
        return decoded

    async def subscribe(self, query: str, **variables: Any) -> str:
        self._next_id += 1
        operation = str(self._next_id)
        payload = {"query": query, "variables": variables}
        await self.send({"id": operation, "type": "subscribe", "payload": payload})
        return operation

    async def next(self, operation: str, timeout: float = 60.0) -> dict[str, Any]:
        """The next message for ``operation`` (``next``, ``error`` or ``complete``)."""
        async with asyncio.timeout(timeout):
            while not self._inbox[operation]:
                message = await self.receive(timeout)
                if message["type"] == "ping":
                    await self.send({"type": "pong"})
                elif "id" in message:
                    self._inbox[message["id"]].append(message)
        return self._inbox[operation].pop(0)

    async def complete(self, operation: str) -> None:
        await self.send({"id": operation, "type": "complete"})

    async def close(self) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, 10)
