"""Calling an ASGI application in-process, without a server or an HTTP client library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    #: the header lists as sent (``set-cookie`` may repeat)
    raw_headers: list[tuple[str, str]]

    def json(self) -> Any:
        import json

        return json.loads(self.body)


async def call(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    chunks: Sequence[bytes] | None = None,
) -> Reply:
    """One request; ``chunks`` sends the body in pieces (as a chunked upload would)."""
    pieces = list(chunks) if chunks is not None else [body]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        if pieces:
            piece = pieces.pop(0)
            return {"type": "http.request", "body": piece, "more_body": bool(pieces)}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    raw = [(k.decode(), v.decode()) for k, v in start.get("headers", [])]
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Reply(status=start["status"], headers=dict(raw), body=content, raw_headers=raw)
