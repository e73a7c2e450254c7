"""Authentication through the app: signatures, bearer tokens, the login cookie and CSRF."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.unit.gateway.app_fixture import FakeGateway, fake_gateway
from tests.unit.gateway.asgi import call


@pytest.fixture
def gw(tmp_path: Path) -> FakeGateway:
    return fake_gateway(tmp_path)


def code(reply: object) -> tuple[int, str]:
    status = reply.status  # type: ignore[attr-defined]
    return status, reply.json()["error"]["code"]  # type: ignore[attr-defined]


async def test_a_signed_request_names_its_caller(gw: FakeGateway) -> None:
    reply = await gw.signed("GET", "/v1/auth/whoami", query="x=1&y=%20")
    assert reply.status == 200, reply.body
    assert reply.json() == {
        "access_key": "AK1",
        "user_id": "user-ada",
        "username": "ada",
        "role": "user",
        "domain": "default",
        "projects": ["default"],
    }


async def test_signature_refusals_say_why(gw: FakeGateway) -> None:
    assert code(await call(gw.app, "GET", "/v1/auth/whoami")) == (401, "unauthenticated")
    assert code(await gw.signed("GET", "/v1/auth/whoami", secret_key="wrong")) == (
        401,
        "bad-signature",
    )
    assert code(await gw.signed("GET", "/v1/auth/whoami", access_key="AKNOBODY")) == (
        401,
        "unknown-key",
    )
    old = datetime.now(UTC) - timedelta(minutes=6)
    assert code(await gw.signed("GET", "/v1/auth/whoami", date=old)) == (401, "expired-signature")
    moment = datetime.now(UTC)
    assert (await gw.signed("GET", "/v1/auth/whoami", date=moment)).status == 200
    assert code(await gw.signed("GET", "/v1/auth/whoami", date=moment)) == (
        401,
        "replayed-signature",
    )
    reply = await call(gw.app, "GET", "/v1/auth/whoami", headers=[("authorization", "Basic x")])
    assert code(reply) == (401, "unauthenticated")
    assert "BERTH-HMAC-SHA256" in reply.headers["www-authenticate"]


async def test_a_body_other_than_the_signed_one_is_refused(gw: FakeGateway) -> None:
    body = json.dumps({"ttl_seconds": 60}).encode()
    ok = await gw.signed("POST", "/v1/auth/tokens", body=body, content_type="application/json")
    assert ok.status == 201
    signed = await gw.signed(
        "POST",
        "/v1/auth/tokens",
        body=body,
        content_type="application/json",
        extra=(("x-ignored", "1"),),
    )
    assert signed.status == 201
    # Same headers, other body: the hash no longer matches.
    tampered = await call(
        gw.app,
        "POST",
        "/v1/auth/tokens",
        headers=[
            ("host", "testserver"),
            ("content-type", "application/json"),
            ("x-berth-date", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
            ("x-berth-content-sha256", "0" * 64),
            ("authorization", "BERTH-HMAC-SHA256 Credential=AK1, Signature=" + "0" * 64),
        ],
        body=body,
    )
    assert code(tampered) == (401, "bad-signature")


async def test_bearer_tokens_work_until_they_expire_and_cannot_mint_more(gw: FakeGateway) -> None:
    reply = await gw.signed(
        "POST", "/v1/auth/tokens", body=b'{"ttl_seconds": 120}', content_type="application/json"
    )
    token = reply.json()["token"]
    expires = datetime.fromisoformat(reply.json()["expires_at"])
    assert timedelta(seconds=115) < expires - datetime.now(UTC) <= timedelta(seconds=120)
    bearer = [("authorization", f"Bearer {token}")]
    who = await call(gw.app, "GET", "/v1/auth/whoami", headers=bearer)
    assert who.json()["access_key"] == "AK1"
    again = await call(
        gw.app,
        "POST",
        "/v1/auth/tokens",
        headers=[*bearer, ("content-type", "application/json")],
        body=b"{}",
    )
    assert code(again) == (403, "forbidden")
    broken = [("authorization", f"Bearer {token[:-2]}xx")]
    assert code(await call(gw.app, "GET", "/v1/auth/whoami", headers=broken)) == (
        401,
        "unauthenticated",
    )
    too_long = await gw.signed(
        "POST",
        "/v1/auth/tokens",
        body=b'{"ttl_seconds": 99999999}',
        content_type="application/json",
    )
    assert code(too_long) == (422, "invalid")


async def test_a_revoked_key_ends_its_tokens(gw: FakeGateway) -> None:
    reply = await gw.signed("POST", "/v1/auth/tokens", body=b"{}", content_type="application/json")
    bearer = [("authorization", f"Bearer {reply.json()['token']}")]
    gw.manager.inactive.add("AK1")
    gw.state.forget_keypair("AK1")
    assert code(await call(gw.app, "GET", "/v1/auth/whoami", headers=bearer)) == (
        401,
        "unauthenticated",
    )


async def test_login_sets_a_strict_cookie_that_needs_the_csrf_header(gw: FakeGateway) -> None:
    wrong = await call(
        gw.app,
        "POST",
        "/v1/auth/login",
        headers=[("content-type", "application/json")],
        body=b'{"access_key": "AK1", "secret_key": "nope"}',
    )
    assert code(wrong) == (401, "unauthenticated")
    unknown = await call(
        gw.app,
        "POST",
        "/v1/auth/login",
        headers=[("content-type", "application/json")],
        body=b'{"access_key": "AKNOBODY", "secret_key": "nope"}',
    )
    assert unknown.json() == wrong.json()  # nothing tells whether the key exists
    login = await call(
        gw.app,
        "POST",
        "/v1/auth/login",
        headers=[("content-type", "application/json")],
        body=b'{"access_key": "AK1", "secret_key": "secret"}',
    )
    assert login.status == 200
    assert login.json() == {"access_key": "AK1", "username": "ada", "role": "user"}
    cookie = login.headers["set-cookie"]
    for attribute in ("berth_session=", "HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert attribute.lower() in cookie.lower()
    session = [("cookie", cookie.split(";", 1)[0])]
    assert (await call(gw.app, "GET", "/v1/auth/whoami", headers=session)).status == 200
    unsafe = await call(
        gw.app,
        "POST",
        "/v1/auth/tokens",
        headers=[*session, ("content-type", "application/json")],
        body=b"{}",
    )
    assert code(unsafe) == (403, "forbidden")
    with_header = await call(
        gw.app,
        "POST",
        "/v1/auth/tokens",
        headers=[*session, ("content-type", "application/json"), ("x-berth-csrf", "1")],
        body=b"{}",
    )
    assert with_header.status == 201
    # A bearer token is not a cookie, and a cookie is not a bearer token.
    token = with_header.json()["token"]
    as_cookie = [("cookie", f"berth_session={token}")]
    assert (await call(gw.app, "GET", "/v1/auth/whoami", headers=as_cookie)).status == 401
    logout = await call(gw.app, "POST", "/v1/auth/logout")
    assert logout.status == 200
    assert (
        'berth_session=""' in logout.headers["set-cookie"]
        or "Max-Age=0" in logout.headers["set-cookie"]
    )


async def test_health_needs_no_authentication_and_reports_nats(gw: FakeGateway) -> None:
    class Connected:
        is_connected = True

    gw.state.nc = Connected()  # type: ignore[assignment]
    assert (await call(gw.app, "GET", "/v1/health")).json() == {"ok": True}
    Connected.is_connected = False
    assert code(await call(gw.app, "GET", "/v1/health")) == (503, "unavailable")
