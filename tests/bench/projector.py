"""``python -m tests.bench.projector``: the projection process, with a clock on each commit.

It runs what ``python -m projections`` runs (every registered read model in one
group: one ``ProjectionRunner``, one read-store connection, configured by the
same ``BERTH_*`` variables), except that the read store is wrapped in a
:class:`CommitClock`. The clock reads the wall-clock time as soon as a
transaction that moved projections' positions has committed, and writes one
line per projection moved to stdout::

    committed <projection> <notification id> <unix time>

so the benchmark knows, to the microsecond and without polling the tables, when
each event became visible in the read model. Logs go to stderr.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import nats

from events.streams import ensure_streams
from projections.positions import Position, write_positions
from projections.read_store import Params, ReadStore, Tx, open_read_store
from projections.registry import GROUP, create_all
from projections.runner import ProjectionRunner
from projections.settings import ReadStoreSettings
from services import collector, sqlite_library
from services.manager.settings import NatsSettings
from services.service_loop import run_until_stopped

COMMITTED = "committed"

_stdout_lock = threading.Lock()


class _Capture:
    """A transaction that only keeps the statements it is given."""

    dialect = "sqlite"

    def __init__(self) -> None:
        self.statements: list[tuple[str, Params]] = []

    def execute(self, sql: str, params: Params = ()) -> None:
        self.statements.append((sql, params))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self.statements.extend((sql, params) for params in rows)


def _position_statement() -> tuple[str, int, int]:
    """The statement ``write_positions`` moves positions with, and where a name and id sit.

    Learnt from ``write_positions`` itself, so that the clock follows the runner's
    bookkeeping as it is, without a copy of its SQL.
    """
    capture = _Capture()
    marker = Position(notification_id=987_654_321, stream_seq=123_456_789)
    write_positions(capture, {"clock": marker})  # type: ignore[arg-type]
    for sql, params in capture.statements:
        if marker.notification_id in params and "clock" in params:
            values = list(params)
            return sql, values.index("clock"), values.index(marker.notification_id)
    raise RuntimeError("write_positions no longer writes the notification id as a parameter")


POSITION_SQL, NAME_PARAM, POSITION_PARAM = _position_statement()


def _note_positions(tx: Tx, moved: dict[str, int]) -> None:
    """Note in ``moved`` the notification id each position write of ``tx`` sets, by projection.

    Only this transaction's ``executemany`` (how ``write_positions`` writes) is wrapped:
    the read models' own statements go straight to the store's transaction, so the clock
    adds nothing to what projecting an event costs.
    """
    executemany = tx.executemany

    def noting(sql: str, rows: Sequence[Params]) -> None:
        executemany(sql, rows)
        if sql == POSITION_SQL:
            for params in rows:
                moved[str(params[NAME_PARAM])] = int(params[POSITION_PARAM])

    tx.executemany = noting  # type: ignore[method-assign]


class CommitClock:
    """A read store that reports each committed position move with the time it committed."""

    def __init__(self, inner: ReadStore) -> None:
        self._inner = inner

    @property
    def dialect(self) -> str:
        return self._inner.dialect

    @property
    def transient_errors(self) -> tuple[type[Exception], ...]:
        return self._inner.transient_errors

    @contextmanager
    def transaction(self, *, pipelined: bool = True) -> Iterator[Tx]:
        moved: dict[str, int] = {}
        with self._inner.transaction(pipelined=pipelined) as tx:
            _note_positions(tx, moved)
            try:
                yield tx
            finally:
                # The wrapper holds the transaction: left in place, each transaction (with its
                # cursors and held rows) would live on as a cycle until the collector came by,
                # and that collection would pause the process the lag is measured in.
                del tx.executemany
        # Leaving the inner block returned only once COMMIT did.
        committed_at = time.time()
        if moved:
            lines = "".join(
                f"{COMMITTED} {name} {nid} {committed_at:.6f}\n" for name, nid in moved.items()
            )
            with _stdout_lock:
                sys.stdout.write(lines)
                sys.stdout.flush()

    def recover(self) -> None:
        self._inner.recover()

    def close(self) -> None:
        self._inner.close()


async def _main(stop: asyncio.Event) -> None:
    settings = ReadStoreSettings.from_env()
    nc = await nats.connect(NatsSettings.from_env().url, max_reconnect_attempts=-1)
    store = CommitClock(open_read_store(settings))
    try:
        await ensure_streams(nc.jetstream())
        runner = ProjectionRunner(create_all(), store, nc, name=GROUP)
        collector.settle_for_batches()
        await runner.run(stop)
    finally:
        store.close()
        await nc.drain()


def main() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    sqlite_library.configure()
    run_until_stopped(_main)


if __name__ == "__main__":
    main()
