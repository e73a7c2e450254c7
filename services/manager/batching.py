"""Group commit for session requests: many decided, one transaction.

Requests that arrive while the previous batch is being decided are decided
together, in arrival order, and saved in one transaction, so a burst of
requests costs one round trip to the store instead of one each. If that save
fails (two copies of one request racing, a lost database), nothing of the batch
was stored: every request is decided and saved again on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from functools import partial

import msgspec

from events.commands import CommandError, CommandReply, RequestSession
from services.manager.context import ManagerContext
from services.manager.decider import Decider
from services.manager.handlers import CommandRefused
from services.manager.session_handlers import request_session, stage_session_request

log = logging.getLogger("berth.manager")

MAX_COMMAND_BYTES = 64 * 1024
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(RequestSession)


def refusal(code: str, message: str) -> CommandReply:
    return CommandReply(ok=False, error=CommandError(code, message))


def decode_request(body: bytes) -> RequestSession | CommandReply:
    if len(body) > MAX_COMMAND_BYTES:
        return refusal("too-large", f"command body over {MAX_COMMAND_BYTES} bytes")
    try:
        return _decoder.decode(body)
    except msgspec.ValidationError as exc:
        return refusal("invalid-command", str(exc))
    except msgspec.DecodeError as exc:
        return refusal("malformed-command", f"not valid JSON: {exc}")


def decide_batch(ctx: ManagerContext, bodies: list[bytes], at: datetime) -> list[bytes]:
    """Runs on the decision thread; one encoded reply per body, in order."""
    commands = [decode_request(body) for body in bodies]
    replies: list[CommandReply] = []
    try:
        for command in commands:
            if isinstance(command, CommandReply):
                replies.append(command)
                continue
            try:
                replies.append(stage_session_request(ctx, command, at, memory_only=True))
            except CommandRefused as exc:
                replies.append(refusal(exc.code, exc.message))
        recordings = ctx.aggregates.commit()
    except Exception:
        ctx.aggregates.discard()
        log.warning("a batch of %d requests failed to save; deciding each alone", len(bodies))
        replies = [_alone(ctx, command, at) for command in commands]
        return [_encoder.encode(reply) for reply in replies]
    if recordings:
        stored = recordings[-1].notification.id
        replies = [
            msgspec.structs.replace(r, notification_id=stored) if r.ok and not r.duplicate else r
            for r in replies
        ]
    return [_encoder.encode(reply) for reply in replies]


def _alone(
    ctx: ManagerContext, command: RequestSession | CommandReply, at: datetime
) -> CommandReply:
    if isinstance(command, CommandReply):
        return command
    try:
        return request_session(ctx, command, at)
    except CommandRefused as exc:
        return refusal(exc.code, exc.message)


class RequestBatcher:
    def __init__(self, ctx: ManagerContext, decide: Decider, max_batch: int = 512) -> None:
        self._ctx = ctx
        self._decide = decide
        self._max = max_batch
        self._queue: asyncio.Queue[tuple[bytes, asyncio.Future[bytes]]] = asyncio.Queue()

    async def submit(self, body: bytes) -> bytes:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((body, future))
        return await future

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            getter = asyncio.ensure_future(self._queue.get())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not getter.done():
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
                break
            items = [getter.result()]
            while len(items) < self._max and not self._queue.empty():
                items.append(self._queue.get_nowait())
            bodies = [body for body, _ in items]
            now = datetime.now(UTC)
            try:
                answers = await self._decide(partial(decide_batch, self._ctx, bodies, now))
            except Exception as exc:  # the store is gone: every caller gets the reason
                log.exception("deciding a batch of requests failed")
                failed = _encoder.encode(refusal("unavailable", f"not decided: {exc}"))
                answers = [failed] * len(items)
            for (_, future), answer in zip(items, answers, strict=True):
                if not future.done():
                    future.set_result(answer)
