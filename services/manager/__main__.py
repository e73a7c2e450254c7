"""``python -m services.manager [serve|relay]``: the manager process.

``serve`` (the default) answers commands and runs the relay in-process;
``relay`` runs the relay alone (a second relay, or one to kill in fault tests).
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import nats

from services import sqlite_library
from services.manager.relay_runner import run_relay
from services.manager.settings import NatsSettings, StoreSettings
from services.manager.store import EventStore
from services.service_loop import run_until_stopped


async def _main(mode: str, stop: asyncio.Event) -> None:
    store = EventStore(StoreSettings.from_env())
    nc = await nats.connect(NatsSettings.from_env().url, max_reconnect_attempts=-1)
    try:
        if mode == "relay":
            await run_relay(store, nc, stop)
        else:
            from services.manager.bootstrap import serve

            await serve(store, nc, stop)
    finally:
        await nc.close()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.manager")
    parser.add_argument("mode", nargs="?", default="serve", choices=["serve", "relay"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sqlite_library.configure()
    run_until_stopped(lambda stop: _main(args.mode, stop))


if __name__ == "__main__":
    main()
