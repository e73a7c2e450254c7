"""The relay: every stored event onto ``BERTH_EVENTS``, in order, exactly once.

It follows the store's notification log and publishes each notification with
``Nats-Msg-Id`` = its notification id and ``Nats-Expected-Last-Sequence`` = the
stream sequence it must follow. The stream itself is the relay's only memory:
at start, and after any surprise (a rejected expectation, a duplicate, a lost
connection), it reads the stream's last message and goes on after that
notification. Because every message names the exact sequence it must follow,
two relays running at once cannot interleave, skip or repeat an event: one wins
each position, the other is refused, re-reads the stream and carries on.

Publishes are pipelined in batches with one acknowledgement per batch (see
``_publish_batch``), since one round trip per event would cap the relay at a few
thousand events per second.

A relay in the process that saves is also *offered* each save's notifications
(:meth:`Relay.offer`) and publishes them from memory when they follow on exactly
from the stream's last notification; anything else (a gap, a save by another
process, a restart) it reads from the store, which stays the one source. Woken
with nothing offered while a save of its own process is under way (PostgreSQL's
notification of a commit can come before the save has offered what it stored),
it waits for that offer instead of reading the same events back from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from uuid import UUID

import msgspec
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError

from events.codec import split_topic
from events.frames import (
    BadFrame,
    checked_subject,
    header_block,
    header_line,
    hpub_parts,
    send_frames,
)
from events.streams import EVENTS_STREAM
from events.subjects import (
    EXPECTED_LAST_SEQ_HEADER,
    MSG_ID_HEADER,
    TOPIC_HEADER,
    event_subject,
)

log = logging.getLogger("berth.relay")

WRONG_LAST_SEQUENCE = 10071


class StoredNotification(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> object: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


class NotificationLog(Protocol):
    """What the relay needs of the event store (an eventsourcing ApplicationRecorder)."""

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None
    ) -> Sequence[StoredNotification]: ...


@dataclass
class RelayPosition:
    """The last notification on the stream and its stream sequence."""

    notification_id: int = 0
    stream_seq: int = 0


class Conflict(Exception):
    """The stream is not where this relay thought: re-read it."""


async def stream_position(js: JetStreamContext, stream: str = EVENTS_STREAM) -> RelayPosition:
    info = await js.stream_info(stream)
    last_seq = info.state.last_seq
    if last_seq == 0 or info.state.messages == 0:
        return RelayPosition(0, last_seq)
    try:
        msg = await js.get_msg(stream, seq=last_seq)
    except NotFoundError:
        return RelayPosition(0, last_seq)
    msg_id = (msg.headers or {}).get(MSG_ID_HEADER)
    if msg_id is None or not msg_id.isdigit():
        raise RuntimeError(f"{stream} message {last_seq} has no notification id")
    return RelayPosition(int(msg_id), last_seq)


class Relay:
    def __init__(
        self,
        log_: NotificationLog,
        nc: NATS,
        *,
        batch_size: int = 1000,
        poll_interval: float = 0.25,
        ack_timeout: float = 5.0,
        stream: str = EVENTS_STREAM,
        saving: Callable[[], bool] | None = None,
    ) -> None:
        self._log = log_
        self._nc = nc
        #: whether a save of this process is under way, whose notifications will be offered
        self._saving = saving
        self._js = nc.jetstream()
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._ack_timeout = ack_timeout
        self._stream = stream
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.position: RelayPosition | None = None
        self.published = 0
        self.conflicts = 0
        #: notifications offered by this process's saves and not yet published, by id
        self._offered: dict[int, StoredNotification] = {}
        self._offered_lock = threading.Lock()
        #: published from memory / read from the store (for tests and logs)
        self.from_memory = 0
        self.from_store = 0
        #: passes that found nothing offered while this process was saving, and waited
        self.waits_for_offer = 0

    #: offered notifications held at most; beyond that the relay reads the store instead
    OFFER_LIMIT = 20_000

    def offer(self, notifications: Sequence[StoredNotification]) -> None:
        """Thread-safe: these were just committed by this process; wake the relay.

        It publishes them without reading them back when they follow on from the
        stream's last notification. A relay that falls behind (NATS down) stops
        holding them and reads the store once it can publish again.
        """
        with self._offered_lock:
            if len(self._offered) + len(notifications) <= self.OFFER_LIMIT:
                for notification in notifications:
                    self._offered[notification.id] = notification
            else:
                self._offered.clear()
        self.wake()

    def _take_offered(self, first: int) -> tuple[list[StoredNotification], bool]:
        """The offered notifications ``first``, ``first + 1``… without a gap, at most a batch;
        and whether any offered ones are left over (after a gap)."""
        taken: list[StoredNotification] = []
        with self._offered_lock:
            offered = self._offered
            if offered and min(offered) < first:
                for stale in [i for i in offered if i < first]:
                    del offered[stale]
            while len(taken) < self._batch_size:
                notification = offered.pop(first + len(taken), None)
                if notification is None:
                    break
                taken.append(notification)
            return taken, bool(offered)

    def wake(self) -> None:
        """Thread-safe: something new was stored."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        log.info("relay started")
        while not stop.is_set():
            # Cleared before reading the store, not after: a save that commits
            # while this pass reads or publishes must cut the wait below short.
            self._wake.clear()
            try:
                caught_up = await self.publish_available()
            except (NatsError, APIError, TimeoutError, OSError, Conflict) as exc:
                log.warning("relay: %s; re-reading the stream", exc or type(exc).__name__)
                self.position = None
                await _sleep_or_stop(stop, 0.2)
                continue
            if caught_up:
                waker = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait(
                    {waker, stopper},
                    timeout=self._poll_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waker.cancel()
                stopper.cancel()
        log.info("relay stopped after publishing %d events", self.published)

    async def publish_available(self) -> bool:
        """Publish one batch; True when the stream has caught up with the store."""
        if self.position is None:
            self.position = await stream_position(self._js, self._stream)
            log.info(
                "relay resumes after notification %d (stream seq %d)",
                self.position.notification_id,
                self.position.stream_seq,
            )
        first = self.position.notification_id + 1
        taken, gap = self._take_offered(first)
        notifications: Sequence[StoredNotification] = taken
        if notifications:
            self.from_memory += len(notifications)
        elif not gap and self._saving is not None and self._saving():
            # This process is saving: what it stored will be offered, and wake the relay.
            self.waits_for_offer += 1
            return True
        else:
            notifications = await asyncio.to_thread(
                self._log.select_notifications, first, self._batch_size
            )
            self.from_store += len(notifications)
        if not notifications:
            return True
        await self._publish_batch(notifications)
        return len(notifications) < self._batch_size

    async def _publish_batch(self, notifications: Sequence[StoredNotification]) -> None:
        """Publish a batch with one acknowledgement: the last message's.

        Every message names the stream sequence it must follow, so the stream
        stores a message only if every earlier one of the batch was stored right
        before it: if any is refused (another relay won that position, a
        duplicate, a full server), every later one is refused too, the last
        one's reply says so, and the relay re-reads the stream. Waiting for one
        reply per batch instead of one per message is what makes the relay fast.
        """
        assert self.position is not None
        base = self.position.stream_seq
        *earlier, last = notifications
        # All but the last as frames built here, queued in one command; the last one
        # asks for the acknowledgement, after them on the same connection.
        max_payload = self._nc.max_payload
        chunks: list[bytes] = []
        for i, notification in enumerate(earlier):
            chunks += _frame(notification, base + i, max_payload)
        await send_frames(self._nc, chunks, len(earlier))
        reply = await self._nc.request(
            _subject(last.topic, last.originator_id),
            last.state,
            headers={
                MSG_ID_HEADER: str(last.id),
                TOPIC_HEADER: last.topic,
                EXPECTED_LAST_SEQ_HEADER: str(base + len(earlier)),
            },
            timeout=self._ack_timeout,
        )
        ack = json.loads(reply.data)
        error = ack.get("error")
        if error is not None:
            self.conflicts += 1
            if error.get("err_code") == WRONG_LAST_SEQUENCE:
                raise Conflict("another relay published first")
            raise Conflict(f"the stream refused the batch: {error.get('description', error)}")
        if ack.get("duplicate") or ack.get("seq") != base + len(notifications):
            self.conflicts += 1
            raise Conflict(f"notification {notifications[-1].id} was already published")
        self.position = RelayPosition(notifications[-1].id, int(ack["seq"]))
        self.published += len(notifications)


@lru_cache(maxsize=1024)
def _topic_parts(topic: str) -> tuple[str, str, bytes, bytes, bytes]:
    """What a topic's messages share, checked once: the kind and event name its subject
    holds, the subject before and after the aggregate id, and its header line."""
    name, _version = split_topic(topic)
    kind, _, event_name = name.partition(".")
    subject = event_subject(kind, _ID, event_name)
    if subject.count(_ID) != 1:
        raise BadFrame(f"topic {topic!r} holds a NUL character")
    checked_subject(subject.replace(_ID, "id"))
    before, _, after = subject.partition(_ID)
    return kind, event_name, before.encode(), after.encode(), header_line(TOPIC_HEADER, topic)


#: stands for the aggregate id in a topic's subject: a character no topic holds
_ID = "\x00"
#: a UUID as JSON: its canonical text, quoted
_json = msgspec.json.Encoder().encode
#: the relay's header block, with the notification id, the topic's line and the expected
#: last sequence to fill in (the numbers as digits, the line as :func:`_topic_parts` made it)
_HEADERS = header_block(
    header_line(MSG_ID_HEADER, "%d"), b"%b", header_line(EXPECTED_LAST_SEQ_HEADER, "%d")
)


def _subject(topic: str, originator_id: object) -> str:
    kind, event_name, *_ = _topic_parts(topic)
    return event_subject(kind, str(originator_id), event_name)


def _frame(
    notification: StoredNotification, expected_last_seq: int, max_payload: int
) -> tuple[bytes, ...]:
    """The ``HPUB`` frame of one notification, in :func:`~events.frames.hpub_parts`, from
    parts checked once per topic: a UUID's text needs no check (msgspec writes it as ``str``
    does, in a third of the time), any other aggregate id is checked here."""
    _, _, before, after, topic_line = _topic_parts(notification.topic)
    aggregate = notification.originator_id
    if isinstance(aggregate, UUID):
        middle = _json(aggregate)[1:-1]
    else:
        middle = checked_subject(str(aggregate))
    return hpub_parts(
        before + middle + after,
        _HEADERS % (notification.id, topic_line, expected_last_seq),
        notification.state,
        max_payload,
    )


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def relay_lag(position: RelayPosition | None, store_max: int) -> int:
    """How many notifications the stream is behind the store (for status output)."""
    return store_max - (position.notification_id if position else 0)
