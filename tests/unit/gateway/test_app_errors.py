"""Every refusal in one error model: validation, unknown routes, manager refusals, failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from events.commands import CommandError, CommandReply
from events.tenant_commands import CREATE_DOMAIN
from services.gateway.errors import ApiError, install_error_handlers, status_for
from tests.unit.gateway.app_fixture import FakeGateway, fake_gateway
from tests.unit.gateway.asgi import call


@pytest.fixture
def gw(tmp_path: Path) -> FakeGateway:
    return fake_gateway(tmp_path)


def error(reply: object) -> tuple[int, str, str]:
    body = reply.json()["error"]  # type: ignore[attr-defined]
    return reply.status, body["code"], body["message"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("session-not-found", 404),
        ("user-not-found", 404),
        ("unknown-image", 400),
        ("unknown-resource-group", 400),
        ("invalid-resources", 400),
        ("missing-startup-command", 400),
        ("unschedulable", 400),
        ("domain-exists", 409),
        ("already-ended", 409),
        ("conflict", 409),
        ("forbidden", 403),
        ("quota-exceeded", 403),
        ("not-a-member", 403),
        ("unauthenticated", 401),
        ("too-large", 413),
    ],
)
def test_manager_codes_get_the_status_of_their_kind(code: str, status: int) -> None:
    assert status_for(code) == status


async def test_validation_errors_are_rewritten_into_the_model(gw: FakeGateway) -> None:
    reply = await gw.signed(
        "POST", "/v1/sessions", body=b'{"name": "x"}', content_type="application/json"
    )
    status, code, message = error(reply)
    assert (status, code) == (422, "invalid")
    assert "image" in message
    extra = await gw.signed(
        "POST",
        "/v1/sessions",
        body=b'{"name": "x", "image": "i", "colour": "red"}',
        content_type="application/json",
    )
    assert error(extra)[:2] == (422, "invalid") and "colour" in error(extra)[2]
    bad_json = await gw.signed(
        "POST", "/v1/sessions", body=b"{nope", content_type="application/json"
    )
    assert error(bad_json)[:2] == (422, "invalid")
    assert error(await gw.signed("GET", "/v1/sessions", query="limit=0"))[:2] == (422, "invalid")


async def test_unknown_routes_and_methods_answer_in_the_model(gw: FakeGateway) -> None:
    assert error(await call(gw.app, "GET", "/v1/nothing-here"))[:2] == (404, "not-found")
    assert error(await call(gw.app, "PUT", "/v1/health"))[:2] == (405, "method-not-allowed")


async def test_manager_refusals_keep_their_code(gw: FakeGateway) -> None:
    gw.manager.replies[CREATE_DOMAIN] = CommandReply(
        ok=False, error=CommandError("domain-exists", "domain 'lab' already exists")
    )
    gw.manager.add_keypair("AKA", "a", role="superadmin", username="root")
    reply = await gw.signed(
        "POST",
        "/v1/admin/domains",
        access_key="AKA",
        secret_key="a",
        body=b'{"name": "lab"}',
        content_type="application/json",
    )
    assert error(reply) == (409, "domain-exists", "domain 'lab' already exists")
    name, command = gw.manager.sent[-1]
    assert name == CREATE_DOMAIN and command.actor == "AKA"  # type: ignore[attr-defined]


async def test_users_are_kept_out_of_admin_routes_without_a_command(gw: FakeGateway) -> None:
    reply = await gw.signed(
        "POST", "/v1/admin/domains", body=b'{"name": "lab"}', content_type="application/json"
    )
    assert error(reply)[:2] == (403, "forbidden")
    assert gw.manager.sent == []


async def test_read_models_not_there_yet_are_503(gw: FakeGateway) -> None:
    assert error(await gw.signed("GET", "/v1/sessions"))[:2] == (503, "unavailable")


async def test_an_unexpected_failure_is_500_without_a_traceback() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/refused")
    async def refused() -> None:
        raise ApiError(409, "conflict", "no")

    reply = await call(app, "GET", "/boom")
    assert reply.status == 500
    assert reply.json()["error"]["code"] == "internal"
    assert b"secret internals" not in reply.body and b"Traceback" not in reply.body
    assert error(await call(app, "GET", "/refused")) == (409, "conflict", "no")
