"""Every CLI test gets a fake client behind the commands and a private config directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from berth_sdk import Credentials
from typer.testing import CliRunner

from cli import connect
from tests.unit.cli.fake_client import FakeClient


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeClient]:
    client = FakeClient()

    def factory(credentials: Credentials | None) -> FakeClient:
        client.credentials = credentials
        return client

    monkeypatch.setattr(connect, "make_client", factory)
    monkeypatch.setenv("BERTH_CONFIG_DIR", str(tmp_path / "config"))
    for name in ("BERTH_ENDPOINT", "BERTH_ACCESS_KEY", "BERTH_SECRET_KEY", "BERTH_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    yield client


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
