"""Rebuilding a read model from zero: the same tables as if it had always been running.

The projection's durable consumer is deleted, its tables are dropped and made
again, its parked events forgotten and its position set to zero, in one
transaction; then a runner projects the stream from its first message until it
has taken in every message that was on the stream when the rebuild began.

A live runner of the same model may keep running meanwhile: both commit only
from the positions they read, under the position rows' locks, so they take turns
and neither applies an event twice. The rebuild reads through a consumer of its
own, deleted at the end. The live runner finds the model's position moved at
its next commit, re-reads the positions and recreates its consumer from the
lowest; its other models pass over what they already hold.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from events.streams import EVENTS_STREAM
from projections.base import Projection
from projections.consumer import consumer_name, delete_consumer
from projections.parking import forget_parked, install_parking
from projections.positions import (
    Position,
    ensure_position,
    install_positions,
    read_position,
    write_positions,
)
from projections.read_store import ReadStore, open_read_store
from projections.registry import create_projection
from projections.runner import ProjectionRunner
from projections.schema import install_schemas, write_schema
from projections.settings import ReadStoreSettings

log = logging.getLogger("berth.projections")


def reset_read_model(store: ReadStore, projection: Projection) -> None:
    with store.transaction(pipelined=False) as tx:
        install_positions(tx)
        install_parking(tx)
        ensure_position(tx, projection.name)
        # The position row first, as the runner takes it: a live runner and this
        # reset then queue behind one another instead of deadlocking.
        read_position(tx, projection.name, lock=True)
        projection.reset(tx)
        projection.install(tx)
        forget_parked(tx, projection.name)
        write_positions(tx, {projection.name: Position()})
        install_schemas(tx)
        write_schema(tx, projection.name, projection.schema_version)


async def rebuild_read_model(name: str, nc: NATS, settings: ReadStoreSettings) -> int:
    """Rebuild the read model ``name``; returns how many events the rebuild applied.

    Raises :class:`projections.registry.UnknownProjection` for an unknown name and
    ``LookupError`` when the events stream does not exist.
    """
    projection = create_projection(name)
    js = nc.jetstream()
    try:
        await js.stream_info(EVENTS_STREAM)
    except NotFoundError:
        raise LookupError(
            f"stream {EVENTS_STREAM} does not exist: nothing to rebuild from"
        ) from None
    rebuild_consumer = f"{consumer_name(name)}-rebuild"
    store = await asyncio.to_thread(open_read_store, settings)
    try:
        await asyncio.to_thread(reset_read_model, store, projection)
        until = (await js.stream_info(EVENTS_STREAM)).state.last_seq
        log.info("%s: rebuilding from the stream's first %d messages", name, until)
        runner = ProjectionRunner([projection], store, nc, consumer=rebuild_consumer)
        await runner.run(asyncio.Event(), until_seq=until)
        log.info(
            "%s: rebuilt up to notification %d (%d applied, %d parked)",
            name,
            runner.position.notification_id,
            runner.applied,
            runner.parked,
        )
        return runner.applied
    finally:
        await delete_consumer(js, EVENTS_STREAM, rebuild_consumer)
        await asyncio.to_thread(store.close)
