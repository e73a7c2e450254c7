"""Ingests agents' facts from ``BERTH_FACTS`` exactly once.

Each batch of facts becomes events saved together with a tracking record of the
batch's last stream sequence, in one transaction: a fact is never applied twice
(a second save of the same position is refused) and never lost (the consumer is
recreated at start to deliver from the stored position on).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from functools import partial

import msgspec
from eventsourcing.persistence import IntegrityError
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from events.delivery import delivered_of
from events.facts import decode_fact
from events.pull import ConsumerGone, PullReader
from events.streams import FACTS_STREAM
from events.subjects import FACTS_WILDCARD
from services.manager.context import ManagerContext
from services.manager.decider import Decider
from services.manager.lifecycle import Touched, observe

log = logging.getLogger("berth.ingest")

DURABLE = "manager-facts"
TRACKING_SOURCE = FACTS_STREAM


def ingest_batch(ctx: ManagerContext, messages: list[tuple[int, bytes]], at: datetime) -> int:
    """Apply (stream seq, payload) pairs and save them with their position.

    Returns how many facts were applied.
    """
    touched: Touched = {}
    applied = 0
    for seq, payload in messages:
        try:
            fact = decode_fact(payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("fact %d cannot be decoded and is skipped: %s", seq, exc)
            continue
        observe(ctx, fact, touched, at)
        applied += 1
    last = messages[-1][0]
    try:
        ctx.aggregates.save_tracked(TRACKING_SOURCE, last, *touched.values())
    except IntegrityError:
        # Already ingested (by an earlier run, or another manager): nothing to do.
        ctx.aggregates.evict(*touched.values())
        log.info("facts up to %d were already ingested", last)
        return 0
    return applied


async def run_ingest(
    ctx: ManagerContext, nc: NATS, decide: Decider, stop: asyncio.Event, batch: int = 500
) -> None:
    js = nc.jetstream()
    while not stop.is_set():
        try:
            start = ctx.store.tracked_position(TRACKING_SOURCE) + 1
            with contextlib.suppress(NotFoundError):
                await js.delete_consumer(FACTS_STREAM, DURABLE)
            await js.add_consumer(
                FACTS_STREAM,
                ConsumerConfig(
                    name=DURABLE,
                    durable_name=DURABLE,
                    filter_subject=FACTS_WILDCARD,
                    deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                    opt_start_seq=start,
                    ack_policy=AckPolicy.ALL,
                    max_ack_pending=batch * 4,
                ),
            )
            # One pull request always outstanding: a fact that arrives alone is handed
            # over at once (nats-py's fetch could hold it until its timeout).
            reader = PullReader(nc, FACTS_STREAM, DURABLE, make=delivered_of(nc), batch_size=batch)
            await reader.start()
            log.info("ingesting facts from stream sequence %d", start)
            try:
                while not stop.is_set():
                    msgs = await reader.next_batch(stop, 0.5)
                    if not msgs:
                        continue
                    items = [(m.stream_seq, m.data) for m in msgs]
                    now = datetime.now(UTC)
                    await decide(partial(ingest_batch, ctx, items, now))
                    await msgs[-1].ack()
            finally:
                with contextlib.suppress(NatsError):
                    await reader.close()
        except (NatsError, OSError, ConsumerGone) as exc:
            log.warning("fact ingestion interrupted (%s); resuming", exc)
            await asyncio.sleep(0.5)
        except Exception:
            # A failed save (database gone, say) stored nothing of its batch: start
            # again from the stored position, so nothing is skipped or applied twice.
            log.exception("fact ingestion failed; resuming from the stored position")
            await asyncio.sleep(1.0)
