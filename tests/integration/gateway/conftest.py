"""One stack for all the gateway tests (starting it takes seconds; the tests only add to it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.manager.settings import StoreSettings
from tests.conftest import NatsServer
from tests.integration.gateway.signed_client import SignedClient
from tests.integration.gateway.stack import GatewayStack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    root = tmp_path_factory.mktemp("gateway")
    nats = NatsServer(root / "jetstream")
    nats.start()
    store = StoreSettings(backend="sqlite", sqlite_path=root / "events.sqlite3")
    running = GatewayStack(store, nats.url, root)
    try:
        running.start()
        yield running
    finally:
        running.close()
        nats.stop()


@pytest.fixture(scope="package")
def admin(stack: GatewayStack) -> SignedClient:
    assert stack.admin is not None
    return stack.admin
