"""``python -m services.gateway``: the REST API and GraphQL on BERTH_GATEWAY_HOST:PORT.

Reads its settings from the environment (:class:`GatewaySettings.from_env`) and
runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import gc
import logging

import uvicorn

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = GatewaySettings.from_env()
    app = create_app(settings)
    # Everything built so far (the app, its schemas, GraphQL's) lives as long as the
    # process: frozen, the collector stops scanning it each time requests' garbage
    # triggers a full collection. And a collection every 10,000 new objects rather than
    # every 700: each request allocates hundreds, almost all freed by reference counting.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
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
