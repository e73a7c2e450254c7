"""A gateway in memory for the SDK's tests: routes answered by handlers, on httpx.MockTransport.

It checks what every request must carry (a signature over the body it really
sends) and records the requests, so tests can look at paths, queries and bodies.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import httpx
from berth_sdk import AsyncClient, Client
from berth_sdk.signing import canonical_string, content_sha256, signature

ENDPOINT = "http://gateway.test:8480"
ACCESS_KEY = "AKTEST"
SECRET_KEY = "s3cret"

Handler = Callable[[httpx.Request], httpx.Response]


def error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


def session(
    session_id: str = "11111111-1111-1111-1111-111111111111", **fields: Any
) -> dict[str, Any]:
    """A Session body as the gateway sends it."""
    body: dict[str, Any] = {
        "id": session_id,
        "name": "s1",
        "owner_access_key": ACCESS_KEY,
        "user_id": "u1",
        "project": "default",
        "domain": "default",
        "resource_group": "default",
        "image": "berth-small",
        "session_type": "batch",
        "cluster_size": 1,
        "status": "PENDING",
        "status_reason": "",
        "resources": {"cpu": "1", "mem": "268435456"},
        "agents": [],
        "kernels": [],
        "exit_code": None,
        "result": "",
        "created_at": "2026-11-27T10:00:00+00:00",
        "updated_at": "2026-11-27T10:00:01.5+00:00",
    }
    body.update(fields)
    return body


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A streamed body, for either client; ``cut`` ends it with a network error."""

    def __init__(self, chunks: Iterable[bytes], cut: bool = False) -> None:
        self._chunks = list(chunks)
        self._cut = cut

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks
        if self._cut:
            raise httpx.ReadError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        if self._cut:
            raise httpx.ReadError("connection reset")


class FakeGateway:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[httpx.Request] = []

    def route(self, method: str, path: str, handler: Handler | httpx.Response | Any) -> None:
        """Answer ``method path`` with a handler, a fixed response, or a fixed JSON body."""
        if isinstance(handler, httpx.Response):
            fixed = handler
            self.routes[(method, path)] = lambda _r: fixed
        elif callable(handler):
            self.routes[(method, path)] = handler
        else:
            body = handler
            self.routes[(method, path)] = lambda _r: httpx.Response(200, json=body)

    def replies(self, method: str, path: str, responses: Iterable[httpx.Response | Any]) -> None:
        """Answer successive requests with successive responses (the last one repeats)."""
        queue = list(responses)

        def next_one(_request: httpx.Request) -> httpx.Response:
            item = queue.pop(0) if len(queue) > 1 else queue[0]
            return item if isinstance(item, httpx.Response) else httpx.Response(200, json=item)

        self.routes[(method, path)] = next_one

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != "/v1/health":
            self._check_signature(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return error(404, "not-found", f"no route {request.method} {request.url.path}")
        return handler(request)

    def _check_signature(self, request: httpx.Request) -> None:
        body = request.read()
        assert request.headers["X-Berth-Content-SHA256"] == content_sha256(body)
        canonical = canonical_string(
            method=request.method,
            path=request.url.raw_path.decode(),
            host=request.headers["Host"],
            date=request.headers["X-Berth-Date"],
            content_type=request.headers.get("Content-Type", ""),
            body_sha256=content_sha256(body),
        )
        expected = signature(SECRET_KEY, canonical)
        assert request.headers["Authorization"] == (
            f"BERTH-HMAC-SHA256 Credential={ACCESS_KEY}, Signature={expected}"
        )

    def client(self, **options: Any) -> Client:
        return Client(
            ENDPOINT,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            transport=httpx.MockTransport(self.handle),
            poll_interval=0.0,
            **options,
        )

    def async_client(self, **options: Any) -> AsyncClient:
        return AsyncClient(
            ENDPOINT,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            transport=httpx.MockTransport(self.handle),
            poll_interval=0.0,
            **options,
        )

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    @staticmethod
    def body(request: httpx.Request) -> Any:
        return json.loads(request.read())
