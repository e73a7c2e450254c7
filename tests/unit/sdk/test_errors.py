"""Every refusal becomes the matching BerthError, with the gateway's code and message."""

from __future__ import annotations

import httpx
import pytest
from berth_sdk import (
    AsyncClient,
    AuthenticationError,
    BerthError,
    Client,
    ConfigurationError,
    Conflict,
    ConnectionFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from berth_sdk.errors import error_from_response

from tests.unit.sdk.fake_gateway import ENDPOINT, FakeGateway, error

CASES = [
    (400, "bad-request", InvalidRequest),
    (401, "bad-signature", AuthenticationError),
    (401, "replayed-signature", AuthenticationError),
    (403, "forbidden", PermissionDenied),
    (404, "not-found", NotFound),
    (409, "quota-exceeded", Conflict),
    (413, "too-large", InvalidRequest),
    (422, "invalid", InvalidRequest),
    (503, "unavailable", Unavailable),
    (500, "internal", BerthError),
]


@pytest.mark.parametrize(("status", "code", "kind"), CASES)
def test_refusals_map_to_their_kind(status: int, code: str, kind: type[BerthError]) -> None:
    gateway = FakeGateway()
    gateway.route("GET", "/v1/sessions/abc", error(status, code, "what went wrong"))
    with gateway.client() as berth, pytest.raises(kind) as raised:
        berth.get_session("abc")
    assert type(raised.value) is kind
    assert (raised.value.status, raised.value.code) == (status, code)
    assert str(raised.value) == "what went wrong"


async def test_the_async_client_raises_the_same() -> None:
    gateway = FakeGateway()
    gateway.route("DELETE", "/v1/sessions/abc", error(403, "forbidden", "not yours"))
    async with gateway.async_client() as berth:
        with pytest.raises(PermissionDenied, match="not yours"):
            await berth.destroy_session("abc")


def test_a_body_that_is_not_the_error_model_still_explains() -> None:
    assert str(error_from_response(502, b"<html>Bad Gateway</html>", "Bad Gateway")) == (
        "<html>Bad Gateway</html>"
    )
    empty = error_from_response(503, b"", "Service Unavailable")
    assert isinstance(empty, Unavailable)
    assert (empty.code, str(empty)) == ("unavailable", "HTTP 503 Service Unavailable")


def test_no_gateway_is_connection_failed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with (
        Client(
            ENDPOINT, access_key="a", secret_key="b", transport=httpx.MockTransport(refuse)
        ) as berth,
        pytest.raises(ConnectionFailed) as raised,
    ):
        berth.whoami()
    assert raised.value.code == "unreachable"
    assert ENDPOINT in str(raised.value)
    assert isinstance(raised.value, Unavailable)


async def test_a_timeout_is_connection_failed() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    transport = httpx.MockTransport(slow)
    async with AsyncClient(ENDPOINT, access_key="a", secret_key="b", transport=transport) as berth:
        with pytest.raises(ConnectionFailed) as raised:
            await berth.list_images()
    assert raised.value.code == "timeout"


def test_an_unexpected_body_is_a_bad_response() -> None:
    gateway = FakeGateway()
    gateway.route("GET", "/v1/auth/whoami", {"unexpected": True})
    with gateway.client() as berth, pytest.raises(BerthError) as raised:
        berth.whoami()
    assert raised.value.code == "bad-response"


def test_no_keys_is_a_configuration_error_before_anything_is_sent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("BERTH_CONFIG_DIR", str(tmp_path))
    for name in ("BERTH_ENDPOINT", "BERTH_ACCESS_KEY", "BERTH_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    gateway = FakeGateway()
    gateway.route("GET", "/v1/health", {"ok": True})
    with Client(ENDPOINT, transport=httpx.MockTransport(gateway.handle)) as berth:
        assert berth.health() is True  # needs no keys
        with pytest.raises(ConfigurationError, match="berth login"):
            berth.whoami()
    assert [r.url.path for r in gateway.requests] == ["/v1/health"]
    assert "Authorization" not in gateway.requests[0].headers
