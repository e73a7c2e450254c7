"""Running a service process until SIGINT or SIGTERM, and ending it then, whatever it waits on.

:func:`run_until_stopped` gives the service's main coroutine an event that either signal sets,
and runs it. A service stops by itself once the event is set; one still running
:data:`GRACE` seconds later (stuck connecting to a server that has gone, say) is cancelled.
When it has ended, the tasks it left behind are cancelled too. ``asyncio.run`` would then wait
for every one of them, however long it takes; here each gets :data:`GRACE` seconds, and
whatever still runs after that is named in a warning and left behind, so the process ends all
the same.

Both happen when a killed ``berth up`` takes its children with it (``deploy/supervisor.py``:
each gets SIGTERM from the kernel, nats-server included). An agent still connecting then waits
for a server that is gone: the services connect with ``max_reconnect_attempts=-1``, so
``nats.connect`` tries again every two seconds, for ever. And a task can outlive its
cancellation: nats-py reconnects in a loop that takes any failed attempt as a reason to try
again, and on Python 3.11 ``asyncio.wait_for`` turns a cancellation that arrives just as the
attempt it waits for fails into that failure, so a cancelled reconnection loop with no server
to reach can carry on for ever. Both have kept a service of a killed stack running.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("berth.service")

#: how long a service gets to stop once asked to, and the tasks it leaves behind to end once
#: cancelled (seconds)
GRACE = 5.0


def run_until_stopped(
    main: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    *,
    grace: float = GRACE,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> None:
    """Run ``main(stop)`` in a new event loop (``loop_factory``'s, if given), ``stop`` set by
    SIGINT or SIGTERM.

    ``main`` gets ``grace`` seconds to end once ``stop`` is set before it is cancelled; once it
    has ended, the tasks still running are cancelled and given ``grace`` seconds.
    An error of ``main`` is raised.
    """
    loop = (loop_factory or asyncio.new_event_loop)()
    asyncio.set_event_loop(loop)
    try:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.run_until_complete(_until_stopped(main(stop), stop, grace))
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


async def _until_stopped(
    main: Coroutine[Any, Any, None], stop: asyncio.Event, grace: float
) -> None:
    service = asyncio.ensure_future(main)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({service, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not service.done():
            await asyncio.wait({service}, timeout=grace)
        if not service.done():
            log.warning(
                "still running %.1f s after it was asked to stop; cancelling it (%s)",
                grace,
                _described(service),
            )
            service.cancel()
            await asyncio.wait({service}, timeout=grace)
    finally:
        stopping.cancel()
    if service.done() and not service.cancelled():
        service.result()  # its error, if it failed


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
