"""Request signing: the canonical string, the signature, and what a signed request carries."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx
import pytest
from berth_sdk.signing import (
    BearerAuth,
    KeypairAuth,
    canonical_string,
    content_sha256,
    signature,
)

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_canonical_string_vector() -> None:
    canonical = canonical_string(
        method="post",
        path="/v1/sessions?limit=5&status=RUNNING,PENDING",
        host="Gateway.Example:8480",
        date="2026-11-27T10:00:00.000000Z",
        content_type="Application/JSON",
        body_sha256=content_sha256(b'{"name":"a"}'),
    )
    assert canonical == (
        "POST\n"
        "/v1/sessions?limit=5&status=RUNNING,PENDING\n"
        "gateway.example:8480\n"
        "2026-11-27T10:00:00.000000Z\n"
        "application/json\n"
        "d9d719b27480b55cd4918020e7473e716ed3569c8adafe926cf9b10b4f8ef064"
    )
    # Computed independently (openssl dgst -sha256 -hmac s3cret).
    assert signature("s3cret", canonical) == (
        "fb92b6d56805b83d814b60180f7bbb00dcbe0a7b56090caa5a6a12a9f95c9dce"
    )


def test_empty_body_hashes_as_empty_bytes() -> None:
    assert content_sha256(b"") == EMPTY_SHA256 == hashlib.sha256(b"").hexdigest()


def _signed(request: httpx.Request, auth: httpx.Auth) -> httpx.Request:
    flow = auth.sync_auth_flow(request)
    return next(flow)


def _fixed_clock() -> datetime:
    return datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


def test_signed_request_headers_match_the_canonical_string() -> None:
    auth = KeypairAuth("AKTEST", "s3cret", clock=_fixed_clock)
    request = httpx.Request(
        "POST",
        "http://GW.local:8480/v1/sessions?b=2&a=1",
        content=b'{"x":1}',
        headers={"Content-Type": "application/json"},
    )
    signed = _signed(request, auth)

    date = signed.headers["X-Berth-Date"]
    assert date == "2026-11-27T10:00:00.000000Z"
    assert signed.headers["X-Berth-Content-SHA256"] == content_sha256(b'{"x":1}')
    expected = signature(
        "s3cret",
        canonical_string(
            method="POST",
            path="/v1/sessions?b=2&a=1",  # the query as sent, not re-ordered
            host="gw.local:8480",
            date=date,
            content_type="application/json",
            body_sha256=content_sha256(b'{"x":1}'),
        ),
    )
    assert signed.headers["Authorization"] == (
        f"BERTH-HMAC-SHA256 Credential=AKTEST, Signature={expected}"
    )


def test_a_get_without_body_signs_an_empty_content_type_and_body() -> None:
    auth = KeypairAuth("AK", "sk", clock=_fixed_clock)
    signed = _signed(httpx.Request("GET", "http://gw:8480/v1/auth/whoami"), auth)
    assert signed.headers["X-Berth-Content-SHA256"] == EMPTY_SHA256
    canonical = canonical_string(
        method="GET",
        path="/v1/auth/whoami",
        host="gw:8480",
        date=signed.headers["X-Berth-Date"],
        content_type="",
        body_sha256=EMPTY_SHA256,
    )
    assert signed.headers["Authorization"].endswith(f"Signature={signature('sk', canonical)}")


def test_the_same_request_twice_in_one_instant_gets_two_signatures() -> None:
    """The gateway refuses a signature it has seen: polling must never repeat one."""
    auth = KeypairAuth("AK", "sk", clock=_fixed_clock)
    first = _signed(httpx.Request("GET", "http://gw/v1/sessions/x"), auth)
    second = _signed(httpx.Request("GET", "http://gw/v1/sessions/x"), auth)
    assert first.headers["X-Berth-Date"] < second.headers["X-Berth-Date"]
    assert first.headers["Authorization"] != second.headers["Authorization"]


def test_the_date_is_rfc3339_utc() -> None:
    auth = KeypairAuth("AK", "sk")
    date = _signed(httpx.Request("GET", "http://gw/v1/health"), auth).headers["X-Berth-Date"]
    parsed = datetime.fromisoformat(date.replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 60


def test_the_secret_never_shows_in_repr() -> None:
    assert "s3cret" not in repr(KeypairAuth("AK", "s3cret"))
    assert "tok-123" not in repr(BearerAuth("tok-123"))


def test_bearer_auth_sets_the_token() -> None:
    signed = _signed(httpx.Request("GET", "http://gw/v1/x"), BearerAuth("tok-123"))
    assert signed.headers["Authorization"] == "Bearer tok-123"


def test_the_gateway_accepts_what_the_sdk_signs() -> None:
    """The contract from both sides: the gateway's own verifier checks an SDK signature."""
    gateway_hmac = pytest.importorskip("services.gateway.auth.hmac")
    auth = KeypairAuth("AKTEST", "s3cret")
    body = b'{"name":"a","image":"berth-small"}'
    request = httpx.Request(
        "POST",
        "http://127.0.0.1:8480/v1/sessions?x=1",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    signed = _signed(request, auth)
    access_key, sig = gateway_hmac.parse_authorization(signed.headers["Authorization"])
    assert access_key == "AKTEST"
    received = gateway_hmac.SignedRequest(
        method="POST",
        path_with_query="/v1/sessions?x=1",
        host=signed.headers["Host"],
        date=signed.headers["X-Berth-Date"],
        content_type=signed.headers["Content-Type"],
        content_sha256=signed.headers["X-Berth-Content-SHA256"],
    )
    gateway_hmac.parse_date(received.date)
    gateway_hmac.verify_signature("s3cret", received, sig, body)  # raises when refused
    with pytest.raises(gateway_hmac.SignatureError):
        gateway_hmac.verify_signature("wrong", received, sig, body)
