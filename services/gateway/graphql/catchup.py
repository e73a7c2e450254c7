"""Waiting until a read model includes a decision: read-your-writes for mutations.

The manager answers a command with the notification id of what it stored; the
read model includes it once its position reaches that id. The change feed says
when a runner commits; the position is re-read on each notification, and at
least every second, since a notification may be lost.
"""

from __future__ import annotations

import time

from services.gateway.graphql.context import BerthContext
from services.gateway.graphql.reads import projection_position

#: how long a mutation's result waits for the read model at most
CATCH_UP_TIMEOUT = 5.0


async def caught_up(
    ctx: BerthContext, projection: str, notification_id: int, timeout: float = CATCH_UP_TIMEOUT
) -> bool:
    deadline = time.monotonic() + timeout
    async with ctx.feed.listen(projection) as listener:
        while True:
            if await ctx.state.read(projection_position, projection) >= notification_id:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await listener.next(min(left, 1.0))
