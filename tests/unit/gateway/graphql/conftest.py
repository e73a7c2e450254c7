"""Fixtures of the GraphQL unit tests: the schema over projected read models and fakes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.gateway.graphql.schema import BerthSchema, build_schema
from tests.unit.gateway.graphql.fakes import FakeManager, FakeNats, Gateway, Projected


@pytest.fixture(scope="session")
def schema() -> BerthSchema:
    return build_schema()


@pytest.fixture
def nc() -> FakeNats:
    return FakeNats()


@pytest.fixture
def projected(tmp_path: Path, nc: FakeNats) -> Iterator[Projected]:
    models = Projected(tmp_path / "readmodels.sqlite3", nc)
    yield models
    models.close()


@pytest.fixture
def manager() -> FakeManager:
    return FakeManager()


@pytest.fixture
def gateway(projected: Projected, nc: FakeNats, manager: FakeManager) -> Iterator[Gateway]:
    gw = Gateway(projected, nc, manager)
    yield gw
    gw.read_models.close()
