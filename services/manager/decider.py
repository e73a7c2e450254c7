"""Every decision of the manager runs on one thread, one at a time, in arrival order.

Aggregates stay in memory between decisions (see :mod:`services.manager.aggregates`);
one thread means no two decisions ever see or change them at once, with no locks
in the domain. Blocking store I/O happens on that thread too, never on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Decider:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decide")

    async def __call__(self, decision: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, decision)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
