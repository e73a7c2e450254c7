"""``python -m services.gateway``: the REST API and GraphQL on BERTH_GATEWAY_HOST:PORT.

Reads its settings from the environment (:class:`GatewaySettings.from_env`) and
runs until SIGINT/SIGTERM, as the other services do (:mod:`services.service_loop`): uvicorn's
server is told to exit when the stop event is set, and cancelled if it has not a few seconds
later (still starting, say, waiting for a nats-server that has gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn

from services import collector, sqlite_library
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.service_loop import run_until_stopped


class _Server(uvicorn.Server):
    """uvicorn's server without signal handlers of its own: the service loop's set the stop
    event, and :func:`_serve` tells the server to exit."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(server: uvicorn.Server, stop: asyncio.Event) -> None:
    serving = asyncio.ensure_future(server.serve())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await serving
    finally:
        stopping.cancel()
        serving.cancel()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sqlite_library.configure()
    settings = GatewaySettings.from_env()
    app = create_app(settings)
    # The app, its schemas and GraphQL's live as long as the process: frozen. Its heap
    # does not grow with use, so full collections may stay as frequent as young ones.
    collector.settle(young=10_000, middle=10, full=10)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # the logging configured above
        # No line per request: at a thousand requests a second formatting and writing
        # them is a sizeable part of the gateway's CPU. Failures are still logged.
        access_log=False,
        # Named rather than "auto": a gateway without them fails at start instead of
        # quietly running on the slower pure-Python event loop and HTTP parser.
        loop="uvloop",
        http="httptools",
        proxy_headers=False,  # clients connect directly; no proxy may rewrite Host
        server_header=False,
    )
    server = _Server(config)
    run_until_stopped(lambda stop: _serve(server, stop), loop_factory=config.get_loop_factory())


if __name__ == "__main__":
    main()
