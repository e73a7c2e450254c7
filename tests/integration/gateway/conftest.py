"""One stack for all the gateway tests (starting it takes seconds; the tests only add to it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.gateway.signed_client import SignedClient
from tests.integration.gateway.stack import GatewayStack, running_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    with running_stack(tmp_path_factory.mktemp("gateway")) as running:
        yield running


@pytest.fixture(scope="package")
def admin(stack: GatewayStack) -> SignedClient:
    assert stack.admin is not None
    return stack.admin
