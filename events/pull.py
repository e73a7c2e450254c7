"""Reading a durable pull consumer a batch ahead.

nats-py's ``fetch`` waits for each message of a batch separately (and can hold a lone
message until its timeout). This reader keeps one pull request
outstanding, gathers what the server delivers (straight from the client's parser), and
hands over whatever has arrived: a full batch under load, a single message
without delay when events trickle in. A new request goes out as soon as the
previous one is filled or expires, so the next batch travels while the current
one is being committed.

Each message is kept as its reader's ``make`` makes it of the message's parts as the wire
carries them: a :class:`~events.delivery.Delivered` (:func:`~events.delivery.delivered_of`)
for readers that acknowledge, or the reader's own record (the projections'
:class:`~projections.envelope.Envelope`), made once and nothing else in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from nats.aio.client import Client as NATS
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError

from events.delivery import (
    Delivered,
    delivered_of,
    parse_headers,
    subscribe_wire,
    unsubscribe_raw,
)

log = logging.getLogger("berth.pull")

T = TypeVar("T")
#: makes what a reader keeps of a message: ``(subject, reply, header block or b"", payload)``
Make = Callable[[bytes, bytes, bytes, bytes], T]
#: a status message's header block begins so (``NATS/1.0 <code> <description>``)
_STATUS_LINE = b"NATS/1.0 "


class ConsumerGone(Exception):
    """The server ended the consumer (deleted, or taken over): open it again."""


class PullReader(Generic[T]):
    def __init__(
        self,
        nc: NATS,
        stream: str,
        consumer: str,
        *,
        make: Make[T],
        batch_size: int = 500,
        expires: float = 5.0,
    ) -> None:
        self._nc = nc
        self._make = make
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._batch_size = batch_size
        self._expires = expires
        self._inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._buffer: list[T] = []
        self._arrived = asyncio.Event()
        self._error: Exception | None = None
        # the outstanding pull request: when it was sent and how much of it is left
        self._requested_at: float | None = None
        self._left = 0
        self._reconnects = 0

    async def start(self) -> None:
        self._sub = await subscribe_wire(self._nc, self._inbox, self._on_message)
        await self._request()

    async def close(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            await unsubscribe_raw(self._nc, sub)

    async def next_batch(
        self, stop: asyncio.Event, timeout: float, *, gather_until: float = 0.0
    ) -> list[T]:
        """Up to a batch of messages in stream order; [] when ``timeout`` passes or on ``stop``.

        Once a message is there, the batch is taken at once, or, given ``gather_until``
        (a :func:`time.monotonic` time), when it is full or that time has come, whichever
        is first: a reader that commits a batch at a time commits fewer, larger ones.
        """
        deadline = time.monotonic() + timeout
        while not self._buffer:
            if self._error is not None:
                raise self._error
            if stop.is_set():
                return []
            if self._request_lost():
                self._requested_at = None
            await self._request()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._arrived.clear()
            await _first_of(self._arrived, stop, min(remaining, self._expires))
        while len(self._buffer) < self._batch_size and self._error is None:
            remaining = gather_until - time.monotonic()
            if remaining <= 0 or stop.is_set():
                break
            self._arrived.clear()
            await _first_of(self._arrived, stop, remaining)
        batch = self._buffer[: self._batch_size]
        del self._buffer[: self._batch_size]
        await self._request()
        return batch

    def _request_lost(self) -> bool:
        """A request dies with the connection it was sent on; its expiry would come too late."""
        if self._requested_at is None:
            return False
        if self._nc.stats["reconnects"] != self._reconnects:
            return True
        return time.monotonic() - self._requested_at > self._expires + 2.0

    async def _request(self) -> None:
        # One request at a time, and none while a batch is still waiting to be taken.
        if self._sub is None or self._requested_at is not None:
            return
        if len(self._buffer) >= self._batch_size:
            return
        request = {"batch": self._batch_size, "expires": int(self._expires * 1e9)}
        self._requested_at = time.monotonic()
        self._reconnects = self._nc.stats["reconnects"]
        self._left = self._batch_size
        await self._nc.publish(self._next_subject, json.dumps(request).encode(), reply=self._inbox)

    def _on_message(
        self, subject: bytes, reply: bytes, headers: bytes, data: bytes
    ) -> Awaitable[None] | None:
        """Take one message in; the next pull request to send, if one is due (the parser
        awaits it before it reads on)."""
        if headers.startswith(_STATUS_LINE):
            return self._on_status(parse_headers(headers)[1])
        if self._error is not None:
            return None  # nothing after a message it could not keep: the batch ends before it
        try:
            self._buffer.append(self._make(subject, reply, headers, data))
        except Exception as exc:  # raised from next_batch: never inside the parser
            self._error = exc
            self._arrived.set()
            return None
        self._left -= 1
        self._arrived.set()
        if self._left <= 0:
            self._requested_at = None
            return self._request()
        return None

    def _on_status(self, status: tuple[str, str] | None) -> Awaitable[None] | None:
        code, description = status or ("", "")
        if code == "100":
            return None  # idle heartbeat
        self._requested_at = None
        self._arrived.set()
        if code in ("404", "408"):
            return self._request()  # the request expired
        if code == "409" and "deleted" not in description.lower():
            # e.g. a leadership change or too many waiting requests: just ask again
            return self._request()
        if code == "503":
            self._error = ConsumerGone("no such consumer (503 no responders)")
        else:
            self._error = ConsumerGone(f"the consumer ended ({code} {description})")
        return None


async def _first_of(event: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    waiters: list[asyncio.Future[Any]] = [
        asyncio.ensure_future(event.wait()),
        asyncio.ensure_future(stop.wait()),
    ]
    await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()


async def follow_consumer(
    nc: NATS,
    stream: str,
    consumer: str,
    handle: Callable[[Sequence[Delivered]], None],
    stop: asyncio.Event,
    *,
    batch_size: int,
    what: str,
) -> None:
    """Hand each batch of the durable pull consumer ``consumer`` to ``handle``, then ack it.

    The consumer acknowledges all (``AckPolicy.ALL``): the batch's last message
    covers the batch, and a crash before it only makes the next start deliver the
    batch again. Runs until ``stop``; a lost consumer or connection is reopened
    after a pause, and ``what`` names the reading in the warning.
    """

    async def opened() -> PullReader[Delivered]:
        reader = PullReader(nc, stream, consumer, make=delivered_of(nc), batch_size=batch_size)
        await reader.start()
        return reader

    reader = await opened()
    try:
        while not stop.is_set():
            try:
                msgs = await reader.next_batch(stop, 1.0)
            except (ConsumerGone, NatsError) as exc:
                log.warning("%s failed (%s); retrying", what, exc)
                with contextlib.suppress(NatsError):
                    await reader.close()
                await asyncio.sleep(0.5)
                reader = await opened()
                continue
            if not msgs:
                continue
            handle(msgs)
            with contextlib.suppress(NatsError):
                await msgs[-1].ack()
    finally:
        with contextlib.suppress(NatsError):
            await reader.close()
