"""Read-model change notifications, shared by every subscription of one gateway.

One core NATS subscription on ``berth.rm.*`` (made when the first GraphQL
subscription starts) receives what each projection runner committed, and hands
each read model's part to every :class:`Listener` of that model. A listener collects the changes
that arrived since its owner last looked, so a subscription that is busy sending
never makes the NATS callback wait, and never loses a wake-up.

Notifications are hints (see :mod:`projections.changes`): subscriptions always
read the tables for the state they report. A listener that falls far behind is
told so (``overflowed``) instead of holding an unbounded backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from projections.changes import CHANGES_WILDCARD, Change, decode_changed

log = logging.getLogger("berth.gateway")

#: changes a listener may hold before it is told it fell behind
BACKLOG = 10_000


@dataclass
class Batch:
    changes: list[Change] = field(default_factory=list)
    #: changes were dropped: the reader must re-read everything it follows
    overflowed: bool = False


class Listener:
    def __init__(self, projection: str) -> None:
        self.projection = projection
        self._pending: list[Change] = []
        self._overflowed = False
        self._arrived = asyncio.Event()

    def push(self, changes: list[Change]) -> None:
        if len(self._pending) + len(changes) > BACKLOG:
            self._pending.clear()
            self._overflowed = True
        else:
            self._pending.extend(changes)
        self._arrived.set()

    async def next(self, timeout: float | None = None) -> Batch:
        """What arrived since the last call; waits for something, or at most ``timeout`` seconds."""
        if not self._arrived.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
        self._arrived.clear()
        batch = Batch(self._pending, self._overflowed)
        self._pending, self._overflowed = [], False
        return batch


class ChangeFeed:
    def __init__(self, nc: NATS) -> None:
        self._nc = nc
        self._sub: Subscription | None = None
        self._started = asyncio.Lock()
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        #: the highest notification id seen per projection: a rebuild's replays are not news
        self._seen: dict[str, int] = {}

    async def _start(self) -> None:
        async with self._started:
            if self._sub is None:
                self._sub = await self._nc.subscribe(CHANGES_WILDCARD, cb=self._on_message)

    async def _on_message(self, msg: Msg) -> None:
        try:
            changed = decode_changed(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("unreadable read-model notification on %s: %s", msg.subject, exc)
            return
        for projection, position in changed.positions.items():
            seen = self._seen.get(projection, 0)
            news = [c for c in changed.changes if seen < c.notification_id <= position]
            if not news:
                continue
            self._seen[projection] = max(c.notification_id for c in news)
            for listener in self._listeners.get(projection, ()):
                listener.push(news)

    @contextlib.asynccontextmanager
    async def listen(self, projection: str) -> AsyncIterator[Listener]:
        """A listener for ``projection``'s changes from now on, until the block ends."""
        await self._start()
        listener = Listener(projection)
        self._listeners[projection].add(listener)
        try:
            # Once the server has the subscription, every later notification reaches
            # this listener, and what was announced before is already in the tables:
            # a reader that reads the tables after this point misses nothing.
            await self._nc.flush()
            yield listener
        finally:
            self._listeners[projection].discard(listener)

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
