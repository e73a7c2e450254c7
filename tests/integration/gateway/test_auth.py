"""Authentication against the real manager: signatures, tokens and the login cookie."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from tests.integration.gateway.helpers import refusal
from tests.integration.gateway.signed_client import SignedClient
from tests.integration.gateway.stack import GatewayStack


def test_signed_requests_are_refused_for_what_is_wrong_with_them(
    admin: SignedClient, stack: GatewayStack
) -> None:
    assert admin.get("/v1/auth/whoami").json()["username"] == "admin"
    assert refusal(requests.get(f"{stack.base_url}/v1/auth/whoami", timeout=10)) == (
        401,
        "unauthenticated",
    )
    stranger = stack.client("AKNOBODY0000000000000", "whatever")
    assert refusal(stranger.get("/v1/auth/whoami")) == (401, "unknown-key")
    wrong = stack.client(admin.access_key, "not-the-secret")
    assert refusal(wrong.get("/v1/auth/whoami")) == (401, "bad-signature")
    stale = admin.get("/v1/auth/whoami", date=datetime.now(UTC) - timedelta(minutes=10))
    assert refusal(stale) == (401, "expired-signature")
    early = admin.get("/v1/auth/whoami", date=datetime.now(UTC) + timedelta(minutes=10))
    assert refusal(early) == (401, "expired-signature")

    signed = admin.prepare("POST", "/v1/auth/tokens", json_body={"ttl_seconds": 60})
    assert admin.send(signed).status_code == 201
    assert refusal(admin.send(signed)) == (401, "replayed-signature")

    tampered = admin.prepare("POST", "/v1/auth/tokens", json_body={"ttl_seconds": 60})
    tampered.body = b'{"ttl_seconds": 86400}'
    tampered.headers["Content-Length"] = str(len(tampered.body))
    assert refusal(admin.send(tampered)) == (401, "bad-signature")

    moved = admin.prepare("GET", "/v1/auth/whoami")
    moved.url = moved.url.replace("whoami", "whoami?x=1")
    assert refusal(admin.send(moved)) == (401, "bad-signature")


def test_a_bearer_token_acts_for_its_keypair(admin: SignedClient, stack: GatewayStack) -> None:
    issued = admin.post("/v1/auth/tokens", {"ttl_seconds": 600})
    assert issued.status_code == 201
    token = issued.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    who = requests.get(f"{stack.base_url}/v1/auth/whoami", headers=bearer, timeout=10)
    assert who.json()["access_key"] == admin.access_key
    listed = requests.get(f"{stack.base_url}/v1/sessions", headers=bearer, timeout=10)
    assert listed.status_code == 200
    forged = {"Authorization": f"Bearer {token[:-4]}AAAA"}
    assert refusal(
        requests.get(f"{stack.base_url}/v1/auth/whoami", headers=forged, timeout=10)
    ) == (401, "unauthenticated")


def test_a_browser_logs_in_with_a_cookie_and_must_send_the_csrf_header(
    admin: SignedClient, stack: GatewayStack
) -> None:
    url = stack.base_url
    bad = requests.post(
        f"{url}/v1/auth/login",
        json={"access_key": admin.access_key, "secret_key": "wrong"},
        timeout=10,
    )
    assert refusal(bad) == (401, "unauthenticated")
    login = requests.post(
        f"{url}/v1/auth/login",
        json={"access_key": admin.access_key, "secret_key": admin.secret_key},
        timeout=10,
    )
    assert login.status_code == 200
    assert login.json() == {
        "access_key": admin.access_key,
        "username": "admin",
        "role": "superadmin",
    }
    set_cookie = login.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "Secure" in set_cookie
    assert "samesite=strict" in set_cookie.lower()
    # The cookie is Secure; a browser sends it back over HTTPS. Here it is sent by hand.
    cookie = {"Cookie": set_cookie.split(";", 1)[0]}
    assert requests.get(f"{url}/v1/auth/whoami", headers=cookie, timeout=10).status_code == 200
    body = {"name": "from-browser", "image": "berth-small", "resources": {"cpu": 1}}
    forged = requests.post(f"{url}/v1/sessions", json=body, headers=cookie, timeout=10)
    assert refusal(forged) == (403, "forbidden")
    made = requests.post(
        f"{url}/v1/sessions", json=body, headers={**cookie, "X-Berth-CSRF": "1"}, timeout=10
    )
    assert made.status_code == 201
    out = requests.post(f"{url}/v1/auth/logout", timeout=10)
    assert out.status_code == 200 and "berth_session=" in out.headers["set-cookie"]


def test_health_and_the_openapi_document_need_no_authentication(stack: GatewayStack) -> None:
    assert requests.get(f"{stack.base_url}/v1/health", timeout=10).json() == {"ok": True}
    document = requests.get(f"{stack.base_url}/openapi.json", timeout=10).json()
    assert "/v1/sessions" in document["paths"]
    assert refusal(requests.get(f"{stack.base_url}/v1/nowhere", timeout=10)) == (404, "not-found")
