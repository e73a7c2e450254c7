"""``python -m projections``: keep every registered read model up to date until SIGINT/SIGTERM.

Reads ``BERTH_NATS_URL`` for the server and the read store from
:meth:`ReadStoreSettings.from_env`; the read models run as one group: one
durable consumer, one read-store connection, one transaction per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats

from events.streams import ensure_streams
from projections.read_store import open_read_store
from projections.registry import GROUP, create_all
from projections.runner import ProjectionRunner
from projections.settings import ReadStoreSettings
from services import collector, sqlite_library
from services.manager.settings import NatsSettings
from services.service_loop import run_until_stopped

log = logging.getLogger("berth.projections")


async def _main(stop: asyncio.Event) -> None:
    settings = ReadStoreSettings.from_env()
    nats_url = NatsSettings.from_env().url
    nc = await nats.connect(nats_url, max_reconnect_attempts=-1)
    projections = create_all()
    store = open_read_store(settings)
    try:
        # The relay creates the streams too; whichever process starts first does it.
        await ensure_streams(nc.jetstream())
        runner = ProjectionRunner(projections, store, nc, name=GROUP)
        collector.settle_for_batches()
        where = settings.sqlite_path if settings.backend == "sqlite" else "PostgreSQL"
        log.info(
            "projecting %s from %s into %s",
            ", ".join(p.name for p in projections),
            nats_url,
            where,
        )
        await runner.run(stop)
    finally:
        store.close()
        # With nats-server gone (the stack killed), draining would wait for a
        # reconnection forever: give it a few seconds, then close.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.drain(), 5.0)
        await nc.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sqlite_library.configure()
    run_until_stopped(_main)


if __name__ == "__main__":
    main()
