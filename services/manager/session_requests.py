"""Session requests, the manager's hot path, answered on a plain NATS subscription.

The other commands go through FastStream; this one does not, because FastStream
resolves each message's context in a worker thread, which cost more than
deciding the request (the scheduler benchmark went from about 630 to 1,000
requests/s without it). Each message gets a task, so that many requests wait for
one batch together (nats-py runs a subscription's callbacks one at a time); at
most ``in_flight`` wait at once, and beyond that the subscription's own pending
queue holds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import Error as NatsError

from events.commands import REQUEST_SESSION
from events.subjects import command_subject
from services.manager.batching import RequestBatcher

log = logging.getLogger("berth.manager")


async def answer_session_requests(
    nc: NATS, batcher: RequestBatcher, stop: asyncio.Event, in_flight: int = 512
) -> None:
    answering: set[asyncio.Task[None]] = set()
    slots = asyncio.Semaphore(in_flight)

    async def answer(msg: Msg) -> None:
        try:
            await msg.respond(await batcher.submit(msg.data))
        except NatsError as exc:  # the caller is gone, or so is the connection
            log.debug("a session request could not be answered: %s", exc)
        finally:
            slots.release()

    async def on_request(msg: Msg) -> None:
        await slots.acquire()
        task = asyncio.create_task(answer(msg))
        answering.add(task)
        task.add_done_callback(answering.discard)

    sub = await nc.subscribe(command_subject(REQUEST_SESSION), queue="manager", cb=on_request)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(NatsError):
            await sub.unsubscribe()
        for task in list(answering):
            task.cancel()
        await asyncio.gather(*answering, return_exceptions=True)
