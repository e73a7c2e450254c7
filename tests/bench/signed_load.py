"""A load generator for signed ``POST /v1/sessions`` that costs far less than the gateway.

The SDK (httpx) spends more CPU per request than the gateway does to answer it,
so a benchmark driven by it measures the client. This one speaks just enough
HTTP/1.1 over keep-alive connections (one request in flight per connection,
``Content-Length`` answers only), on uvloop when it is installed, and can run in
several processes. Every request is still signed as the SDK signs it
(:mod:`berth_sdk.signing`), with a date no other request of the process uses and
a body no other request uses, so the gateway verifies each signature and its
replay cache accepts each exactly once.

Each process reports the CPU it used while sending, so the benchmark can say
what the client cost next to what the gateway cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from typing import cast

import msgspec
from berth_sdk.calls import new_request_id
from berth_sdk.signing import (
    CONTENT_HASH_HEADER,
    DATE_HEADER,
    authorization_header,
    canonical_string,
    content_sha256,
    format_date,
    signature,
)

from services import collector

PATH = "/v1/sessions"
CONTENT_TYPE = "application/json"
#: seconds an answer may take before the request counts as lost (the SDK's default too)
TIMEOUT = 60.0


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    access_key: str
    secret_key: str


@dataclass
class Share:
    """What one client process sends: request numbers, over ``connections`` connections."""

    numbers: list[int]
    connections: int
    prefix: str


@dataclass
class Outcome:
    #: seconds from sending each accepted request to its ``201``
    latencies: array[float] = field(default_factory=lambda: array("d"))
    #: requests not answered 201, by error code (or HTTP status)
    refused: dict[str, int] = field(default_factory=dict)
    #: ``time.monotonic()`` when the last answer arrived (system-wide, so comparable)
    ended: float = 0.0
    #: CPU seconds this process used while sending
    cpu_s: float = 0.0

    def merge(self, other: Outcome) -> None:
        self.latencies.extend(other.latencies)
        for code, n in other.refused.items():
            self.refused[code] = self.refused.get(code, 0) + n
        self.ended = max(self.ended, other.ended)
        self.cpu_s += other.cpu_s


class _Signer:
    """The SDK's signature, with a date never used twice by this process."""

    def __init__(self, target: Target, fields: dict[str, object]) -> None:
        self._target = target
        self._fields = fields
        self._host = f"{target.host}:{target.port}"
        self._last = datetime.min.replace(tzinfo=UTC)
        self._fixed = (
            f"POST {PATH} HTTP/1.1\r\nHost: {self._host}\r\nContent-Type: {CONTENT_TYPE}\r\n"
        ).encode()

    def request(self, name: str) -> bytes:
        # A fresh request id, as the SDK makes: each body, so each signature, is unique.
        body = msgspec.json.encode({**self._fields, "name": name, "request_id": new_request_id()})
        now = datetime.now(UTC)
        if now <= self._last:
            now = self._last + timedelta(microseconds=1)
        self._last = now
        date = format_date(now)
        body_hash = content_sha256(body)
        canonical = canonical_string(
            method="POST",
            path=PATH,
            host=self._host,
            date=date,
            content_type=CONTENT_TYPE,
            body_sha256=body_hash,
        )
        auth = authorization_header(
            self._target.access_key, signature(self._target.secret_key, canonical)
        )
        head = (
            f"Content-Length: {len(body)}\r\n{DATE_HEADER}: {date}\r\n"
            f"{CONTENT_HASH_HEADER}: {body_hash}\r\nAuthorization: {auth}\r\n\r\n"
        )
        return self._fixed + head.encode() + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio's classes; they behave alike.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("the gateway closed the connection"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end])
        length = _content_length(head)
        if length is None:
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_exception(ConnectionError("an answer without Content-Length"))
            return
        if len(self._buffer) < end + 4 + length:
            return
        body = bytes(self._buffer[end + 4 : end + 4 + length])
        del self._buffer[: end + 4 + length]
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result((int(head[9:12]), body))

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """The answer's status and body; ConnectionError or TimeoutError when there is none."""
        if self.transport is None or self.closed:
            # Written to a closed socket, a request would vanish and its worker wait forever.
            raise ConnectionError("the gateway closed the connection")
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await asyncio.wait_for(self._waiter, TIMEOUT)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _connect(target: Target) -> _Connection:
    loop = asyncio.get_running_loop()
    return (await loop.create_connection(_Connection, target.host, target.port))[1]


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return None


def _error_code(status: int, body: bytes) -> str:
    with contextlib.suppress(Exception):
        return str(msgspec.json.decode(body)["error"]["code"])
    return f"http-{status}"


async def _drive(
    target: Target, fields: dict[str, object], share: Share, ready: Connection, start: Event
) -> Outcome:
    loop = asyncio.get_running_loop()
    signer = _Signer(target, fields)
    connections = [await _connect(target) for _ in range(share.connections)]
    # One request per connection before the clock starts: caches, accept queues.
    for i, conn in enumerate(connections):
        await conn.exchange(signer.request(f"{share.prefix}warm-{i}"))
    ready.send("ready")
    await loop.run_in_executor(None, start.wait)
    outcome = Outcome()
    numbers = iter(share.numbers)
    cpu_before = time.process_time()

    def count(code: str) -> None:
        outcome.refused[code] = outcome.refused.get(code, 0) + 1

    async def worker(conn: _Connection) -> None:
        for i in numbers:
            request = signer.request(f"{share.prefix}{i}")
            sent = time.monotonic()
            try:
                status, body = await conn.exchange(request)
            except (ConnectionError, TimeoutError) as exc:
                # Counted, and the run goes on over a new connection.
                count("connection-lost" if isinstance(exc, ConnectionError) else "timeout")
                conn.close()
                conn = await _connect(target)
                continue
            if status == 201:
                outcome.latencies.append(time.monotonic() - sent)
            else:
                count(_error_code(status, body))
        conn.close()

    await asyncio.gather(*(worker(c) for c in connections))
    outcome.ended = time.monotonic()
    outcome.cpu_s = time.process_time() - cpu_before
    return outcome


def _client_main(
    target: Target, fields: dict[str, object], share: Share, ready: Connection, start: Event
) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    # The clock is read here: the client's own collection pauses must not count as latency.
    collector.settle(young=10_000, middle=10, full=10)
    try:
        outcome = asyncio.run(_drive(target, fields, share, ready, start))
    except Exception as exc:
        ready.send(f"failed: {type(exc).__name__}: {exc}")
        return
    ready.send(outcome)


def split(count: int, processes: int, concurrency: int, prefix: str) -> list[Share]:
    """Requests dealt round-robin, connections as evenly as they go (at least one each)."""
    processes = max(1, min(processes, concurrency))
    return [
        Share(
            numbers=list(range(p, count, processes)),
            connections=concurrency // processes + (1 if p < concurrency % processes else 0),
            prefix=prefix,
        )
        for p in range(processes)
    ]


def _hear(pipe: Connection) -> object:
    try:
        return pipe.recv()
    except EOFError:
        return "ended without a word (see its output above)"


class LoadRun:
    """Client processes that connect and warm up, then send together on :meth:`go`.

    ``fields`` is every body's content but its ``name`` and ``request_id``.
    """

    def __init__(self, target: Target, shares: list[Share], fields: dict[str, object]) -> None:
        context = multiprocessing.get_context("spawn")
        self._start = context.Event()
        self._pipes: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for share in shares:
            mine, theirs = context.Pipe(duplex=False)
            process = context.Process(
                target=_client_main,
                args=(target, fields, share, theirs, self._start),
                daemon=True,
            )
            process.start()
            theirs.close()
            self._pipes.append(mine)
            self.processes.append(process)

    def wait_ready(self) -> None:
        """Blocks until every process is connected and warmed up."""
        for pipe in self._pipes:
            said = _hear(pipe)
            if said != "ready":
                raise RuntimeError(f"a client process {said}")

    def go(self) -> tuple[float, Outcome]:
        """Blocks until every process is done; when they started and what they saw."""
        began = time.monotonic()
        self._start.set()
        total = Outcome()
        for pipe in self._pipes:
            said = _hear(pipe)
            if not isinstance(said, Outcome):
                raise RuntimeError(f"a client process {said}")
            total.merge(said)
        for process in self.processes:
            process.join(10)
        return began, total

    def close(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join(5)
