"""``python -m services.gateway``: the REST API and GraphQL on BERTH_GATEWAY_HOST:PORT.

Reads its settings from the environment (:class:`GatewaySettings.from_env`) and
runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import logging

import uvicorn

from services import collector, sqlite_library
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sqlite_library.configure()
    settings = GatewaySettings.from_env()
    app = create_app(settings)
    # The app, its schemas and GraphQL's live as long as the process: frozen. Its heap
    # does not grow with use, so full collections may stay as frequent as young ones.
    collector.settle(young=10_000, middle=10, full=10)
    uvicorn.run(
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


if __name__ == "__main__":
    main()
