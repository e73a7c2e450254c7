"""The projection runner: one read model fed from ``BERTH_EVENTS``, batch by batch.

Each round takes a batch of messages (up to a thousand) from the projection's
durable consumer, projects them in one read-store transaction together with the
new position, commits, and only then acknowledges the last message. A crash at any
point leaves the tables and the position consistent; at restart the runner
reads its position from the tables and reads on from the message after it.

The runner also guards against a second writer (another runner of the same
projection, or a rebuild): a batch commits only if the stored position is still
the one this runner read, and only if its messages follow on without a gap.
Otherwise it re-reads the tables and the stream and carries on from there.

After each commit it announces what the batch changed on core NATS
(:mod:`projections.changes`), fire-and-forget: readers learn of new rows at once,
and nothing the runner commits or acknowledges depends on that message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from events.pull import ConsumerGone, PullReader
from events.streams import EVENTS_STREAM
from projections.base import Projection
from projections.batch import BatchOutcome, project_batch
from projections.changes import ChangeAnnouncer, changes_of
from projections.consumer import consumer_name, open_consumer, resume_seq
from projections.envelope import Envelope
from projections.parking import install_parking
from projections.positions import (
    Position,
    ensure_position,
    install_positions,
    read_position,
    write_position,
)
from projections.read_store import ReadStore

log = logging.getLogger("berth.projections")


class Resync(Exception):
    """The tables or the stream are not where this runner thought: re-read both."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


def stored_position(store: ReadStore, name: str) -> Position:
    """The position committed for ``name`` (for callers outside the runner's process)."""
    with store.transaction(pipelined=False) as tx:
        install_positions(tx)
        return read_position(tx, name)


class ProjectionRunner:
    def __init__(
        self,
        projection: Projection,
        store: ReadStore,
        nc: NATS,
        *,
        batch_size: int = 1000,
        idle_timeout: float = 1.0,
        stream: str = EVENTS_STREAM,
        consumer: str | None = None,
    ) -> None:
        self.projection = projection
        #: the durable consumer it reads (a rebuild reads one of its own)
        self.consumer = consumer or consumer_name(projection.name)
        self.store = store
        self._js: JetStreamContext = nc.jetstream()
        self._batch_size = batch_size
        self._idle_timeout = idle_timeout
        self._stream = stream
        self._nc = nc
        self._announcer = ChangeAnnouncer(nc, projection.name)
        self._reader: PullReader | None = None
        self._next_seq = 0
        self._progress = asyncio.Condition()
        self._reported = 0
        #: the committed position (valid once the runner has started)
        self.position = Position()
        self.applied = 0
        self.skipped = 0
        self.parked = 0

    @property
    def name(self) -> str:
        return self.projection.name

    async def run(self, stop: asyncio.Event, *, until_seq: int | None = None) -> None:
        """Project until ``stop`` is set, or, given ``until_seq``, until that stream message is in.

        Without ``until_seq`` the runner is a service: it outlives any error,
        retrying after a pause. With it (a rebuild), only transient errors are
        retried and anything else is raised.
        """
        failures = 0
        try:
            while not stop.is_set():
                try:
                    if self._reader is None:
                        await self._open()
                    if until_seq is not None and self._next_seq > until_seq:
                        break
                    messages = await self._fetch(stop)
                    if messages:
                        await self._project(messages)
                    failures = 0
                except (Resync, ConsumerGone) as exc:
                    log.info("%s: %s; re-reading the tables and the stream", self.name, exc)
                    await self._close()
                except Exception as exc:
                    transient = isinstance(exc, (NatsError, OSError, *self.store.transient_errors))
                    if not transient and until_seq is not None:
                        raise
                    failures += 1
                    log.log(
                        logging.WARNING if transient else logging.ERROR,
                        "%s: %s; retrying",
                        self.name,
                        exc or type(exc).__name__,
                        exc_info=not transient,
                    )
                    await self._close()
                    await asyncio.to_thread(self.store.recover)
                    await _sleep_or_stop(stop, min(0.2 * 2**failures, 5.0))
        finally:
            await self._close()
        log.info(
            "%s: stopped at notification %d (%d applied, %d parked)",
            self.name,
            self.position.notification_id,
            self.applied,
            self.parked,
        )

    async def wait_for(self, notification_id: int, timeout: float) -> Position:
        """Wait until the tables include ``notification_id``; TimeoutError after ``timeout``."""
        async with self._progress:
            await asyncio.wait_for(
                self._progress.wait_for(lambda: self.position.notification_id >= notification_id),
                timeout,
            )
            return self.position

    def _install_and_read_position(self) -> Position:
        with self.store.transaction(pipelined=False) as tx:
            install_positions(tx)
            install_parking(tx)
            self.projection.install(tx)
            ensure_position(tx, self.name)
            return read_position(tx, self.name)

    async def _open(self) -> None:
        self.position = await asyncio.to_thread(self._install_and_read_position)
        start = await resume_seq(self._js, self._stream, self.name, self.position)
        await open_consumer(self._js, self._stream, self.consumer, start)
        self._reader = PullReader(
            self._nc, self._stream, self.consumer, batch_size=self._batch_size
        )
        await self._reader.start()
        self._next_seq = start
        log.info(
            "%s: resumes after notification %d, reading from stream seq %d",
            self.name,
            self.position.notification_id,
            start,
        )
        await self._notify()

    async def _close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            with contextlib.suppress(NatsError):
                await reader.close()

    async def _fetch(self, stop: asyncio.Event) -> list[Msg]:
        assert self._reader is not None
        messages = await self._reader.next_batch(stop, self._idle_timeout)
        if not messages and not stop.is_set():
            self._report_caught_up()
        return messages

    async def _project(self, messages: Sequence[Msg]) -> None:
        expected = self._next_seq
        fresh: list[Envelope] = []
        for msg in messages:
            env = Envelope.of(msg)
            if env.stream_seq < expected:
                continue  # redelivered: already in the tables
            if env.stream_seq > expected:
                raise Resync(f"expected stream seq {expected}, was delivered {env.stream_seq}")
            fresh.append(env)
            expected += 1
        if fresh:
            before = self.position.notification_id
            outcome = await asyncio.to_thread(self._commit, fresh)
            self._record(outcome)
            # Before the ack: committed is what readers may see, whatever happens to the ack.
            await self._announcer.announce(
                outcome.position.notification_id, changes_of(fresh, before)
            )
        self._next_seq = expected
        # AckPolicy.ALL: the highest sequence acknowledges the whole batch, after commit.
        await max(messages, key=lambda m: m.metadata.sequence.stream).ack()
        await self._notify()

    def _commit(self, fresh: Sequence[Envelope]) -> BatchOutcome:
        not_the_batch: tuple[type[Exception], ...] = (Resync, *self.store.transient_errors)
        try:
            return self._commit_batch(fresh, isolate=False)
        except not_the_batch:
            raise
        except Exception as exc:
            log.warning(
                "%s: a batch failed (%s: %s); applying its events one at a time",
                self.name,
                type(exc).__name__,
                exc,
            )
            return self._commit_batch(fresh, isolate=True)

    def _commit_batch(self, fresh: Sequence[Envelope], *, isolate: bool) -> BatchOutcome:
        with self.store.transaction(pipelined=not isolate) as tx:
            current = read_position(tx, self.name, lock=True)
            if current != self.position:
                raise Resync(f"the tables moved to notification {current.notification_id}")
            outcome = project_batch(
                tx,
                self.projection,
                current,
                fresh,
                now=_now,
                isolate=isolate,
                transient_errors=self.store.transient_errors,
            )
            if outcome.position != current:
                write_position(tx, self.name, outcome.position)
        return outcome

    def _record(self, outcome: BatchOutcome) -> None:
        self.position = outcome.position
        self.applied += outcome.applied
        self.skipped += outcome.skipped
        self.parked += len(outcome.parked)
        for parked in outcome.parked:
            log.warning(
                "%s: parked stream message %d (notification %s, %s): %s: %s",
                self.name,
                parked.stream_seq,
                parked.notification_id,
                parked.topic or parked.subject,
                parked.reason,
                parked.detail,
            )

    async def _notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    def _report_caught_up(self) -> None:
        if self.applied + self.parked != self._reported:
            self._reported = self.applied + self.parked
            log.info(
                "%s: caught up at notification %d (%d applied, %d parked since start)",
                self.name,
                self.position.notification_id,
                self.applied,
                self.parked,
            )


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
