"""``python -m services.gateway``: the REST API and GraphQL on BERTH_GATEWAY_HOST:PORT.

Reads its settings from the environment (:class:`GatewaySettings.from_env`) and
runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import logging

import uvicorn

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = GatewaySettings.from_env()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # the logging configured above
        proxy_headers=False,  # clients connect directly; no proxy may rewrite Host
        server_header=False,
    )


if __name__ == "__main__":
    main()
