"""Wires the manager: commands on NATS request/reply (FastStream), the scheduling loop,
fact ingestion, liveness, and the relay. The only place where its parts meet adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple

import msgspec
from faststream.nats import NatsBroker, NatsMessage
from nats.aio.client import Client as NATS

from events import commands as cmd
from events.streams import ensure_streams
from events.subjects import command_subject
from services import collector
from services.manager import (
    auth_queries,
    cluster_handlers,
    session_handlers,
    tenant_handlers,
)
from services.manager.aggregates import Aggregates
from services.manager.batching import RequestBatcher
from services.manager.bootstrap_admin import ensure_first_admin
from services.manager.context import ManagerContext
from services.manager.decider import Decider
from services.manager.domain.resource_group import ResourceGroup, group_id_for
from services.manager.handlers import CommandRefused
from services.manager.ingest import run_ingest
from services.manager.liveness import LivenessMonitor
from services.manager.relay_runner import run_relay
from services.manager.scheduler.agent_selection import AgentSelector
from services.manager.scheduler.queue_order import QueueOrder
from services.manager.scheduling import schedule_all, stop_expired_sessions
from services.manager.sealing import ManagerKey
from services.manager.session_requests import answer_session_requests
from services.manager.settings import ManagerSettings, data_dir
from services.manager.store import EventStore

log = logging.getLogger("berth.manager")

MAX_COMMAND_BYTES = 64 * 1024
_encoder = msgspec.json.Encoder()

Handler = Callable[[Any, datetime], cmd.CommandReply]


class Route(NamedTuple):
    name: str
    command_type: type[msgspec.Struct]
    handler: Handler


def _refusal(code: str, message: str) -> bytes:
    return _encoder.encode(cmd.CommandReply(ok=False, error=cmd.CommandError(code, message)))


def dispatch(body: bytes, route: Route, aggregates: Aggregates) -> bytes:
    """Decode, decide, answer. Runs on the decision thread."""
    if len(body) > MAX_COMMAND_BYTES:
        return _refusal("too-large", f"command body over {MAX_COMMAND_BYTES} bytes")
    try:
        command = msgspec.json.decode(body, type=route.command_type)
    except msgspec.ValidationError as exc:
        return _refusal("invalid-command", str(exc))
    except msgspec.DecodeError as exc:
        return _refusal("malformed-command", f"not valid JSON: {exc}")
    try:
        reply = route.handler(command, datetime.now(UTC))
    except CommandRefused as exc:
        return _refusal(exc.code, exc.message)
    except Exception:
        # A bug, not a refusal: the caller gets an answer instead of a timeout. Nothing
        # was saved; what the decision changed in memory is forgotten.
        log.exception("command %s failed", route.name)
        aggregates.evict_unsaved()
        return _refusal("internal", f"the manager failed to decide {route.name}; see its log")
    return _encoder.encode(reply)


def routes(ctx: ManagerContext, key: ManagerKey) -> list[Route]:
    # session.request goes through the RequestBatcher (group commit), not a route
    own = [
        Route(
            cmd.DESTROY_SESSION, cmd.DestroySession, partial(session_handlers.destroy_session, ctx)
        ),
        Route(cmd.REGISTER_AGENT, cmd.RegisterAgent, partial(cluster_handlers.register_agent, ctx)),
        Route(
            cmd.CREATE_RESOURCE_GROUP,
            cmd.CreateResourceGroup,
            partial(cluster_handlers.create_resource_group, ctx),
        ),
        Route(
            cmd.CHANGE_RESOURCE_GROUP,
            cmd.ChangeResourceGroup,
            partial(cluster_handlers.change_resource_group, ctx),
        ),
        Route(
            auth_queries.LOOKUP_KEYPAIR,
            auth_queries.LookupKeypair,
            partial(auth_queries.lookup_keypair, ctx.directory, key),
        ),
    ]
    tenants = [
        Route(r.name, r.command_type, partial(_tenant_command, ctx, r.handler))
        for r in tenant_handlers.routes(key)
    ]
    return own + tenants


def _tenant_command(
    ctx: ManagerContext, handler: Callable[..., cmd.CommandReply], command: Any, at: datetime
) -> cmd.CommandReply:
    try:
        return handler(ctx.store, command, at)
    finally:
        ctx.directory.forget()  # tenants may have changed: read them afresh


def ensure_default_group(ctx: ManagerContext, at: datetime) -> None:
    if ctx.aggregates.get(ResourceGroup, group_id_for("default")) is not None:
        ctx.group_ids.add(group_id_for("default"))
        return
    group = ResourceGroup.create(
        name="default",
        queue_order=QueueOrder.FIFO,
        agent_selector=AgentSelector.CONCENTRATED,
        max_attempts=3,
        pending_timeout=None,
        at=at,
    )
    ctx.aggregates.save(group)
    ctx.group_ids.add(group.id)


def build_broker(
    url: str, decide: Decider, all_routes: list[Route], aggregates: Aggregates
) -> NatsBroker:
    broker = NatsBroker(url, max_reconnect_attempts=-1, logger=log, log_level=logging.DEBUG)

    # Session requests are answered in services.manager.session_requests, without FastStream.
    def subscribe(route: Route) -> None:
        @broker.subscriber(command_subject(route.name), queue="manager")
        async def handle(msg: NatsMessage) -> bytes:
            body = msg.body
            return await decide(lambda: dispatch(body, route, aggregates))

    for route in all_routes:
        subscribe(route)
    return broker


async def run_scheduler(
    ctx: ManagerContext,
    decide: Decider,
    stop: asyncio.Event,
    wake: asyncio.Event,
    settings: ManagerSettings,
) -> None:
    next_expiry = 0.0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=settings.scheduler_tick)
        wake.clear()
        if time.monotonic() >= next_expiry:
            # Lifetimes are checked on a timer, not every round: it walks every allocation.
            next_expiry = time.monotonic() + settings.lifetime_check_interval
            try:
                await decide(lambda: stop_expired_sessions(ctx, datetime.now(UTC)))
            except Exception:
                log.exception("checking session lifetimes failed; trying again later")
        try:
            summary = await decide(
                lambda: schedule_all(ctx, datetime.now(UTC), settings.scheduler_batch)
            )
        except Exception:
            log.exception("scheduling round failed; retrying on the next tick")
            continue
        if summary.placed >= settings.scheduler_batch:
            wake.set()  # more may be waiting
        elif settings.scheduler_rest > 0:
            # A lone request after a quiet spell is placed at once; under a stream of them
            # the rest gathers what arrives meanwhile into the next round's transaction.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.scheduler_rest)


async def serve(store: EventStore, nc: NATS, stop: asyncio.Event) -> None:
    settings = ManagerSettings.from_env()
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    ctx = ManagerContext.open(store)
    # The aggregates in memory grow with the sessions and agents known: full collections
    # rare (the state replayed at start frozen), young ones every 50,000 allocations.
    collector.settle_for_batches()

    waking = threading.Event()

    def set_wake() -> None:
        waking.clear()
        wake.set()

    def wake_scheduler() -> None:
        # Called once per decided request: coalesced, so a burst costs one wake-up.
        if not waking.is_set():
            waking.set()
            loop.call_soon_threadsafe(set_wake)

    ctx.wake_scheduler = wake_scheduler
    decide = Decider()
    key = ManagerKey.from_env(data_dir())
    now = datetime.now(UTC)
    credentials = await decide(lambda: ensure_first_admin(store, data_dir(), now, key))
    ctx.directory.forget()
    if credentials is not None:
        log.info("first administrator's credentials written to %s", credentials)
    await decide(lambda: ensure_default_group(ctx, now))
    servers = nc.servers
    url = str(servers[0].geturl()) if servers else "nats://127.0.0.1:14222"
    batcher = RequestBatcher(ctx, decide)
    broker = build_broker(url, decide, routes(ctx, key), ctx.aggregates)
    await broker.start()
    log.info("manager answers commands on %s", command_subject(">"))
    await ensure_streams(nc.jetstream())
    monitor = LivenessMonitor(ctx, lost_after=settings.agent_lost_after)
    ctx.agent_seen = monitor.heard  # registering counts as a heartbeat
    tasks = [
        asyncio.create_task(batcher.run(stop)),
        asyncio.create_task(answer_session_requests(nc, batcher, stop)),
        asyncio.create_task(run_scheduler(ctx, decide, stop, wake, settings)),
        asyncio.create_task(run_ingest(ctx, nc, decide, stop)),
        asyncio.create_task(monitor.run(nc, decide, stop)),
    ]
    try:
        await run_relay(store, nc, stop)
    finally:
        stop.set()
        try:
            await stop_broker(broker)
        finally:
            await asyncio.gather(*tasks, return_exceptions=True)
            decide.close()


async def stop_broker(broker: NatsBroker) -> None:
    """Stop answering commands, and close the broker's connection whatever state it is in.

    The broker drains its connection, which nats-py refuses while the connection is
    reconnecting (nats-server gone, as when the whole stack stops at once); left open, the
    connection would go on trying to reconnect for as long as the process lives.
    """
    connection = broker.connection
    try:
        await broker.stop()
    except Exception as exc:
        log.info("the command broker stopped without draining its connection (%r)", exc)
    if not connection.is_closed:
        await connection.close()
