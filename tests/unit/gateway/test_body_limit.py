"""Oversized bodies are refused with 413, whether declared or streamed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.gateway.app_fixture import FakeGateway, fake_gateway
from tests.unit.gateway.asgi import call


@pytest.fixture
def gw(tmp_path: Path) -> FakeGateway:
    return fake_gateway(tmp_path, max_body_bytes=1024)


async def test_a_declared_length_over_the_limit_is_refused_unread(gw: FakeGateway) -> None:
    reply = await call(
        gw.app,
        "POST",
        "/v1/auth/login",
        headers=[("content-length", "5000"), ("content-type", "application/json")],
        chunks=[],  # nothing is read: the app would see a disconnect
    )
    assert reply.status == 413
    assert reply.json()["error"]["code"] == "too-large"


async def test_a_streamed_body_is_counted_and_cut_off(gw: FakeGateway) -> None:
    reply = await call(
        gw.app,
        "POST",
        "/v1/auth/login",
        headers=[("content-type", "application/json")],
        chunks=[b"x" * 600, b"x" * 600, b"x" * 600],
    )
    assert reply.status == 413
    assert reply.json()["error"]["code"] == "too-large"


async def test_a_body_within_the_limit_passes(gw: FakeGateway) -> None:
    reply = await call(
        gw.app,
        "POST",
        "/v1/auth/login",
        headers=[("content-type", "application/json")],
        chunks=[b'{"access_key": "AK1", ', b'"secret_key": "secret"}'],
    )
    assert reply.status == 200
