"""The keypairs requests are signed with, asked of the manager and remembered for a few seconds.

Every authenticated request needs its access key's owner (and, for a signed
request, the secret); asking the manager each time would put a round trip on
every call, so answers (refusals too) are kept for ``ttl`` seconds. A revoked key
therefore works for at most ``ttl`` seconds more at this gateway. Concurrent
requests for the same key share one question to the manager.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from nats.errors import Error as NatsError

from events.commands import CommandReply
from events.tenant import ROLES
from services.gateway.errors import ApiError, unauthenticated, unavailable
from services.gateway.state import Principal
from services.manager.client import ManagerClient


@dataclass(frozen=True)
class KeypairRecord:
    principal: Principal
    secret_key: str


def _record_from(reply: CommandReply) -> KeypairRecord:
    if not reply.ok or reply.data is None:
        code = reply.error.code if reply.error else ""
        if code == "keypair-not-found":
            raise unauthenticated("unknown-key", "the access key is not known")
        raise unauthenticated(
            "unauthenticated",
            reply.error.message if reply.error else "the access key cannot be used",
        )
    data = reply.data
    role = data["role"]
    if role not in ROLES:
        raise ApiError(502, "bad-reply", f"the manager named an unknown role {role!r}")
    principal = Principal(
        access_key=data["access_key"],
        user_id=data["user_id"],
        username=data["username"],
        role=role,
        domain=data["domain"],
        projects=tuple(json.loads(data["projects"])),
    )
    return KeypairRecord(principal=principal, secret_key=data["secret_key"])


class KeypairCache:
    def __init__(
        self,
        manager: ManagerClient,
        ttl: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._manager = manager
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._known: OrderedDict[str, tuple[float, KeypairRecord | ApiError]] = OrderedDict()
        self._asking: dict[str, asyncio.Task[KeypairRecord | ApiError]] = {}

    async def get(self, access_key: str) -> KeypairRecord:
        """The keypair's record; :class:`ApiError` 401 when it cannot be used, 503 when
        the manager does not answer."""
        known = self._known.get(access_key)
        if known is not None and known[0] > self._clock():
            return self._unwrap(known[1])
        asking = self._asking.get(access_key)
        if asking is None:
            # A task of its own: a caller that goes away does not cancel the others' answer.
            asking = asyncio.create_task(self._fetch(access_key))
            self._asking[access_key] = asking
            asking.add_done_callback(lambda done: self._settled(access_key, done))
        return self._unwrap(await asyncio.shield(asking))

    def _settled(self, access_key: str, done: asyncio.Task[KeypairRecord | ApiError]) -> None:
        self._asking.pop(access_key, None)
        if not done.cancelled():
            done.exception()  # retrieved: every waiter re-raises it on its own

    async def _fetch(self, access_key: str) -> KeypairRecord | ApiError:
        outcome = await self._ask(access_key)
        self._remember(access_key, outcome)
        return outcome

    def forget(self, access_key: str) -> None:
        self._known.pop(access_key, None)

    async def _ask(self, access_key: str) -> KeypairRecord | ApiError:
        try:
            reply = await self._manager.lookup_keypair(access_key)
        except (NatsError, TimeoutError) as exc:
            raise unavailable(f"the manager did not answer ({type(exc).__name__})") from None
        try:
            return _record_from(reply)
        except ApiError as exc:
            return exc

    def _remember(self, access_key: str, outcome: KeypairRecord | ApiError) -> None:
        self._known[access_key] = (self._clock() + self._ttl, outcome)
        self._known.move_to_end(access_key)
        while len(self._known) > self._max:
            self._known.popitem(last=False)

    @staticmethod
    def _unwrap(outcome: KeypairRecord | ApiError) -> KeypairRecord:
        if isinstance(outcome, ApiError):
            # A fresh exception each time: re-raising one object would grow its traceback.
            raise ApiError(outcome.status, outcome.code, outcome.message, outcome.headers)
        return outcome
