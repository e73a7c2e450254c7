"""Wires the manager: command handlers on NATS request/reply (FastStream) and the relay.

The only place where the manager's parts meet their adapters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import msgspec
from faststream.nats import NatsBroker, NatsMessage
from nats.aio.client import Client as NATS

from events.base import Command
from events.commands import (
    CANCEL_SESSION,
    REQUEST_SESSION,
    CancelSession,
    CommandError,
    CommandReply,
    RequestSession,
)
from events.subjects import command_subject
from services.manager import handlers
from services.manager.relay_runner import run_relay
from services.manager.store import EventStore

log = logging.getLogger("berth.manager")

C = TypeVar("C", bound=Command)
Handler = Callable[[EventStore, C, datetime], CommandReply]

MAX_COMMAND_BYTES = 64 * 1024
_encoder = msgspec.json.Encoder()


def _refusal(code: str, message: str) -> bytes:
    return _encoder.encode(CommandReply(ok=False, error=CommandError(code, message)))


def dispatch(store: EventStore, body: bytes, command_type: type[C], handler: Handler[C]) -> bytes:
    """Decode, decide, answer. Runs in a worker thread: saves are blocking I/O."""
    if len(body) > MAX_COMMAND_BYTES:
        return _refusal("too-large", f"command body over {MAX_COMMAND_BYTES} bytes")
    try:
        command = msgspec.json.decode(body, type=command_type)
    except msgspec.ValidationError as exc:
        return _refusal("invalid-command", str(exc))
    except msgspec.DecodeError as exc:
        return _refusal("malformed-command", f"not valid JSON: {exc}")
    try:
        reply = handler(store, command, datetime.now(UTC))
    except handlers.CommandRefused as exc:
        return _refusal(exc.code, exc.message)
    return _encoder.encode(reply)


def build_broker(store: EventStore, nats_url: str) -> NatsBroker:
    broker = NatsBroker(nats_url, max_reconnect_attempts=-1, logger=log, log_level=logging.DEBUG)

    @broker.subscriber(command_subject(REQUEST_SESSION), queue="manager")
    async def on_request_session(msg: NatsMessage) -> bytes:
        return await asyncio.to_thread(
            dispatch, store, msg.body, RequestSession, handlers.request_session
        )

    @broker.subscriber(command_subject(CANCEL_SESSION), queue="manager")
    async def on_cancel_session(msg: NatsMessage) -> bytes:
        return await asyncio.to_thread(
            dispatch, store, msg.body, CancelSession, handlers.cancel_session
        )

    return broker


async def serve(store: EventStore, nc: NATS, stop: asyncio.Event) -> None:
    servers = nc.servers
    url = str(servers[0].geturl()) if servers else "nats://127.0.0.1:14222"
    broker = build_broker(store, url)
    await broker.start()
    log.info("manager answers commands on %s", command_subject("*"))
    try:
        await run_relay(store, nc, stop)
    finally:
        await broker.stop()
