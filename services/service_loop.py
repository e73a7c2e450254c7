"""Running a service process until SIGINT or SIGTERM, and ending it when its work has ended.

:func:`run_until_stopped` gives the service's main coroutine an event that either signal sets,
and runs it. When the coroutine returns (or raises), the tasks it left behind are cancelled.
``asyncio.run`` would then wait for every one of them, however long it takes; here each gets
:data:`GRACE` seconds, and whatever still runs after that is named in a warning and left
behind, so the process ends all the same.

A task that outlives its cancellation is not hypothetical. nats-py reconnects in a loop that
takes any failed attempt as a reason to try again, two seconds later, for as long as the
process lives (the services connect with ``max_reconnect_attempts=-1``). On Python 3.11,
``asyncio.wait_for`` turns a cancellation that arrives just as the attempt it waits for fails
into that failure, so a cancelled reconnection loop with no server to reach can carry on for
ever. That kept a manager running after ``berth up`` had been killed and nats-server had gone
with it (``deploy/supervisor.py``: the children of a killed stack get SIGTERM).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger("berth.service")

T = TypeVar("T")

#: how long the tasks left behind by a service's main coroutine get to end once cancelled (s)
GRACE = 5.0


def run_until_stopped(
    main: Callable[[asyncio.Event], Coroutine[Any, Any, T]], *, grace: float = GRACE
) -> T:
    """Run ``main(stop)`` in a new event loop, ``stop`` set by SIGINT or SIGTERM; its result.

    Once it has ended, the tasks still running are cancelled and given ``grace`` seconds.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return loop.run_until_complete(main(stop))
    finally:
        try:
            _end_leftovers(loop, grace)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            asyncio.set_event_loop(None)
            loop.close()


def _end_leftovers(loop: asyncio.AbstractEventLoop, grace: float) -> None:
    leftovers = asyncio.all_tasks(loop)
    if not leftovers:
        return
    for task in leftovers:
        task.cancel()
    done, running = loop.run_until_complete(asyncio.wait(leftovers, timeout=grace))
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "a task failed while the service stopped",
                    "exception": task.exception(),
                    "task": task,
                }
            )
    if running:
        log.warning(
            "%d task(s) still running %.1f s after they were cancelled; the process ends without "
            "them: %s",
            len(running),
            grace,
            ", ".join(sorted(_described(task) for task in running)),
        )
        for task in running:
            # Closing the loop leaves them pending on purpose: no second report when collected.
            task._log_destroy_pending = False  # type: ignore[attr-defined]


def _described(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    return f"{task.get_name()} ({getattr(coro, '__qualname__', coro)})"
