"""The projection runner: a group of read models fed from ``BERTH_EVENTS``, batch by batch.

The models of a group share one durable consumer and one read-store connection:
each message is delivered and decoded once, whatever the number of models. Each
round takes a batch of messages (up to :data:`BATCH_SIZE`), projects them into every
model in one read-store transaction together with each model's new position, and
commits. The consumer takes no acknowledgements (:mod:`projections.consumer`): the
tables' positions are the only record of progress. While messages keep coming,
a batch that is not full waits for more until :data:`COMMIT_INTERVAL` after the
previous commit: a commit costs about the same whatever its size (every index page
the batch touches is written once), so under a steady flow fewer, larger commits
cost far less per event, for at most that much more lag. A message after a quiet
spell is taken at once. A crash at any point
leaves the tables and the positions consistent; at restart the runner reads the
positions from the tables and reads on from the message after the lowest one
(each model passes over what it already holds).

The runner also guards against a second writer (another runner of the same
model, or a rebuild): a batch commits only if every stored position is still the
one this runner read, and only if its messages follow on without a gap.
Otherwise it re-reads the tables and the stream and carries on from there. It does
the same after its connection to NATS was re-established, since the messages of a
pull in flight on the lost connection are never delivered again.

After each commit it announces what the batch changed in the group's models on core NATS
(:mod:`projections.changes`), fire-and-forget: readers learn of new rows at once,
and nothing the runner commits depends on that message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from events.pull import ConsumerGone, PullReader
from events.streams import EVENTS_STREAM
from projections.base import Projection
from projections.batch import BatchOutcome, project_batch
from projections.changes import Change, ChangeAnnouncer
from projections.consumer import consumer_name, open_consumer, resume_seq
from projections.envelope import Envelope
from projections.parking import install_parking
from projections.positions import (
    Position,
    ensure_position,
    install_positions,
    read_position,
    read_positions,
    write_positions,
)
from projections.read_store import ReadStore
from projections.schema import install_current, install_schemas

log = logging.getLogger("berth.projections")


#: the most messages one batch takes (and one pull request asks for). A runner that has fallen
#: behind takes full batches, and the larger each commit, the fewer times the pages of every
#: index it touches are written: 4,000 cost the projection process about a sixth less CPU per
#: event than 1,000 (``docs/benchmarks.md``). A flow it keeps up with gives batches far smaller.
BATCH_SIZE = 4000

#: the least time between two commits while messages keep coming (seconds): a batch that
#: is not full waits until then for more; a message after a quiet spell is taken at once
COMMIT_INTERVAL = 0.005


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
    """Keeps ``projections`` up to date; ``name`` names the group (and its consumer).

    A group of one model is named after it unless ``name`` says otherwise.
    """

    def __init__(
        self,
        projections: Sequence[Projection],
        store: ReadStore,
        nc: NATS,
        *,
        name: str | None = None,
        batch_size: int = BATCH_SIZE,
        idle_timeout: float = 1.0,
        commit_interval: float = COMMIT_INTERVAL,
        stream: str = EVENTS_STREAM,
        consumer: str | None = None,
    ) -> None:
        if not projections:
            raise ValueError("a projection runner needs at least one read model")
        names = [p.name for p in projections]
        if len(set(names)) != len(names):
            raise ValueError(f"read models named twice in one group: {names}")
        if name is None and len(projections) > 1:
            raise ValueError("a group of several read models needs a name")
        self.projections = list(projections)
        self.name = name or projections[0].name
        #: the durable consumer it reads (a rebuild reads one of its own)
        self.consumer = consumer or consumer_name(self.name)
        self.store = store
        self._js: JetStreamContext = nc.jetstream()
        self._batch_size = batch_size
        self._idle_timeout = idle_timeout
        self._commit_interval = commit_interval
        #: when the last batch committed (time.monotonic), for the commit interval
        self._committed_at = 0.0
        self._stream = stream
        self._nc = nc
        self._announcer = ChangeAnnouncer(nc, self.name)
        self._reader: PullReader[Envelope] | None = None
        #: the connection's reconnect count when the consumer was opened
        self._reconnects = 0
        self._next_seq = 0
        self._progress = asyncio.Condition()
        self._reported = 0
        #: each model's committed position (valid once the runner has started)
        self.positions: dict[str, Position] = {p.name: Position() for p in projections}
        self.applied = 0
        self.skipped = 0
        self.parked = 0

    @property
    def position(self) -> Position:
        """The lowest committed position of the group: every model holds what it includes."""
        return min(self.positions.values(), key=lambda p: p.notification_id)

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

    def _install_and_read_positions(self) -> dict[str, Position]:
        with self.store.transaction(pipelined=False) as tx:
            install_positions(tx)
            install_parking(tx)
            install_schemas(tx)
            for projection in self.projections:
                ensure_position(tx, projection.name)
                install_current(tx, projection)
            return read_positions(tx, [p.name for p in self.projections])

    async def _open(self) -> None:
        self.positions = await asyncio.to_thread(self._install_and_read_positions)
        start = await resume_seq(self._js, self._stream, self.name, self.position)
        self._reconnects = self._nc.stats["reconnects"]
        await open_consumer(self._js, self._stream, self.consumer, start)
        self._reader = PullReader(
            self._nc,
            self._stream,
            self.consumer,
            make=Envelope.from_wire,
            batch_size=self._batch_size,
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

    async def _fetch(self, stop: asyncio.Event) -> list[Envelope]:
        assert self._reader is not None
        if self._nc.stats["reconnects"] != self._reconnects:
            raise Resync("the connection to NATS was re-established")
        messages = await self._reader.next_batch(
            stop, self._idle_timeout, gather_until=self._committed_at + self._commit_interval
        )
        if not messages and not stop.is_set():
            self._report_caught_up()
        return messages

    async def _project(self, messages: Sequence[Envelope]) -> None:
        expected = self._next_seq
        fresh: list[Envelope] = []
        for env in messages:
            if env.stream_seq < expected:
                continue  # redelivered: already in the tables
            if env.stream_seq > expected:
                raise Resync(f"expected stream seq {expected}, was delivered {env.stream_seq}")
            fresh.append(env)
            expected += 1
        if fresh:
            outcomes, changes = await asyncio.to_thread(self._commit, fresh)
            self._record(outcomes)
            await self._announce(changes)
        self._next_seq = expected
        self._committed_at = time.monotonic()
        await self._notify()

    def _commit(self, fresh: Sequence[Envelope]) -> tuple[dict[str, BatchOutcome], list[Change]]:
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

    def _commit_batch(
        self, fresh: Sequence[Envelope], *, isolate: bool
    ) -> tuple[dict[str, BatchOutcome], list[Change]]:
        changes: list[Change] = []
        with self.store.transaction(pipelined=not isolate) as tx:
            stored = read_positions(tx, sorted(self.positions), lock=True)
            for name, current in stored.items():
                if current != self.positions[name]:
                    raise Resync(f"{name} moved to notification {current.notification_id}")
            outcomes = project_batch(
                tx,
                self.projections,
                self.positions,
                fresh,
                now=_now,
                isolate=isolate,
                transient_errors=self.store.transient_errors,
                changes=changes,
            )
            moved = {
                name: outcome.position
                for name, outcome in outcomes.items()
                if outcome.position != self.positions[name]
            }
            if moved:
                write_positions(tx, moved)
        return outcomes, changes

    def _record(self, outcomes: Mapping[str, BatchOutcome]) -> None:
        for name, outcome in outcomes.items():
            self.positions[name] = outcome.position
            self.applied += outcome.applied
            self.skipped += outcome.skipped
            self.parked += len(outcome.parked)
            for parked in outcome.parked:
                log.warning(
                    "%s: parked stream message %d (notification %s, %s): %s: %s",
                    name,
                    parked.stream_seq,
                    parked.notification_id,
                    parked.topic or parked.subject,
                    parked.reason,
                    parked.detail,
                )

    async def _announce(self, changes: list[Change]) -> None:
        positions = {name: p.notification_id for name, p in self.positions.items()}
        await self._announcer.announce(positions, changes)

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
