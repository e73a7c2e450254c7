"""``POST /v1/sessions`` answered before routing gives the answers the declared route gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from events import commands as cmd
from events.commands import CommandError, CommandReply
from services.gateway.hot_path import SessionCreatePath
from tests.unit.gateway.app_fixture import FakeGateway, fake_gateway
from tests.unit.gateway.asgi import Reply, call

GOOD = {"name": "s", "image": "berth-small", "resources": {"cpu": 1, "mem": "64m"}}


def _gateway(root: Path, *, hot_path: bool) -> FakeGateway:
    gw = fake_gateway(root, max_body_bytes=1024)
    if not hot_path:
        # The app's middleware stack is built on its first request: before it, the
        # hot path can still be left out, so the declared route answers.
        kept = [m for m in gw.app.user_middleware if m.cls is not cast(Any, SessionCreatePath)]
        gw.app.user_middleware = kept
    gw.manager.replies[cmd.REQUEST_SESSION] = CommandReply(ok=True, session_id="sess-1")
    return gw


@pytest.fixture
def pair(tmp_path: Path) -> tuple[FakeGateway, FakeGateway]:
    return _gateway(tmp_path / "hot", hot_path=True), _gateway(tmp_path / "route", hot_path=False)


def _outcome(reply: Reply) -> tuple[int, object]:
    body = reply.json()
    return reply.status, body if reply.status < 400 else body["error"]["code"]


async def _create(
    gw: FakeGateway, body: bytes, content_type: str = "application/json", secret_key: str = "secret"
) -> Reply:
    return await gw.signed(
        "POST", "/v1/sessions", body=body, content_type=content_type, secret_key=secret_key
    )


def _json(**fields: object) -> bytes:
    return json.dumps({**GOOD, "request_id": "r1", **fields}).encode()


CASES: dict[str, tuple[bytes, str]] = {
    "accepted": (_json(), "application/json"),
    "every field": (
        _json(
            session_type="batch",
            startup_command="echo 1",
            batch_timeout=30.5,
            cluster_size=2,
            environ={"A": "1"},
            mounts=[{"source": "data", "target": "/data", "read_only": True}],
            priority=5,
            depends_on=["other"],
            starts_at="2030-01-01T00:00:00Z",
            designated_agent="agent-1",
            requeue_on_agent_loss=True,
        ),
        "application/json",
    ),
    "a JSON content type of another name": (_json(), "application/vnd.berth+json"),
    "no image": (json.dumps({"name": "s"}).encode(), "application/json"),
    "an unknown field": (_json(colour="red"), "application/json"),
    "no cluster": (_json(cluster_size=0), "application/json"),
    "a naive time": (_json(starts_at="2030-01-01T00:00:00"), "application/json"),
    "not JSON": (b"{nope", "application/json"),
    "not declared JSON": (_json(), "text/plain"),
    "empty": (b"", "application/json"),
}


@pytest.mark.parametrize("case", CASES)
async def test_answers_and_commands_are_the_routes(
    pair: tuple[FakeGateway, FakeGateway], case: str
) -> None:
    body, content_type = CASES[case]
    hot, route = pair
    answers = [_outcome(await _create(gw, body, content_type)) for gw in pair]
    assert answers[0] == answers[1], case
    assert hot.manager.sent == route.manager.sent


async def test_an_accepted_request_is_the_callers_command(tmp_path: Path) -> None:
    gw = _gateway(tmp_path, hot_path=True)
    reply = await _create(gw, json.dumps(GOOD).encode())
    assert reply.status == 201
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"session_id": "sess-1", "status": "PENDING", "duplicate": False}
    ((name, command),) = gw.manager.sent
    assert name == cmd.REQUEST_SESSION and isinstance(command, cmd.RequestSession)
    assert command.actor == "AK1" and command.name == "s" and command.image == "berth-small"
    assert command.resources == {"cpu": 1, "mem": "64m"}
    assert len(command.request_id) == 32  # none given: a fresh one


async def test_refusals_are_the_routes(pair: tuple[FakeGateway, FakeGateway]) -> None:
    for gw in pair:
        gw.manager.replies[cmd.REQUEST_SESSION] = CommandReply(
            ok=False, error=CommandError("unknown-image", "no agent has it")
        )
    refused = [_outcome(await _create(gw, _json())) for gw in pair]
    assert refused[0] == refused[1] == (400, "unknown-image")
    unsigned = [_outcome(await call(gw.app, "POST", "/v1/sessions", body=_json())) for gw in pair]
    assert unsigned[0] == unsigned[1] == (401, "unauthenticated")
    forged = [_outcome(await _create(gw, _json(), secret_key="wrong")) for gw in pair]
    assert forged[0] == forged[1] == (401, "bad-signature")
    for gw in pair:  # a repeated request, with the read models not there yet
        gw.manager.replies[cmd.REQUEST_SESSION] = CommandReply(
            ok=True, session_id="sess-1", duplicate=True
        )
    repeated = [_outcome(await _create(gw, _json())) for gw in pair]
    assert repeated[0] == repeated[1] == (503, "unavailable")


async def test_the_caller_is_checked_before_the_body(
    pair: tuple[FakeGateway, FakeGateway],
) -> None:
    # The one difference: the declared route parses the JSON before it checks the
    # caller (422); the hot path tells a stranger nothing about the body (401). That
    # they differ also shows that the pair above compares two different paths.
    answers = [
        _outcome(
            await call(
                gw.app,
                "POST",
                "/v1/sessions",
                headers=[("content-type", "application/json")],
                body=b"{",
            )
        )
        for gw in pair
    ]
    assert answers == [(401, "unauthenticated"), (422, "invalid")]


async def test_tokens_and_cookies_work_as_on_every_route(tmp_path: Path) -> None:
    gw = _gateway(tmp_path, hot_path=True)
    issued = await gw.signed("POST", "/v1/auth/tokens", body=b"{}", content_type="application/json")
    token = issued.json()["token"]
    json_type = ("content-type", "application/json")
    bearer = await call(
        gw.app,
        "POST",
        "/v1/sessions",
        headers=[("authorization", f"Bearer {token}"), json_type],
        body=_json(),
    )
    assert bearer.status == 201
    login = await call(
        gw.app,
        "POST",
        "/v1/auth/login",
        headers=[json_type],
        body=b'{"access_key": "AK1", "secret_key": "secret"}',
    )
    cookie = login.headers["set-cookie"].split(";")[0]
    without_csrf = await call(
        gw.app, "POST", "/v1/sessions", headers=[("cookie", cookie), json_type], body=_json()
    )
    assert _outcome(without_csrf) == (403, "forbidden")
    with_csrf = await call(
        gw.app,
        "POST",
        "/v1/sessions",
        headers=[("cookie", cookie), ("x-berth-csrf", "1"), json_type],
        body=_json(),
    )
    assert with_csrf.status == 201


async def test_a_body_over_the_limit_is_refused(tmp_path: Path) -> None:
    gw = _gateway(tmp_path, hot_path=True)
    streamed = await gw.signed(
        "POST", "/v1/sessions", content_type="application/json", chunks=[b"x" * 600] * 2
    )
    assert _outcome(streamed) == (413, "too-large")
    assert gw.manager.sent == []


async def test_other_requests_pass_through(tmp_path: Path) -> None:
    gw = _gateway(tmp_path, hot_path=True)
    assert _outcome(await call(gw.app, "PUT", "/v1/sessions")) == (405, "method-not-allowed")
    listed = await gw.signed("GET", "/v1/sessions")
    assert _outcome(listed) == (503, "unavailable")  # the route, reading absent read models
