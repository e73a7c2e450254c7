"""Request signatures: the canonical string of the contract, and every way one is refused."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.auth.hmac import (
    ReplayCache,
    SignatureError,
    SignedRequest,
    body_sha256,
    canonical_string,
    check_freshness,
    parse_authorization,
    parse_date,
    sign,
    verify_signature,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
SECRET = "s3cret-key"
BODY = b'{"name": "x"}'


def request(**changes: str) -> SignedRequest:
    fields = {
        "method": "POST",
        "path_with_query": "/v1/sessions?dry=1",
        "host": "127.0.0.1:8480",
        "date": "2026-11-27T10:00:00Z",
        "content_type": "application/json",
        "content_sha256": hashlib.sha256(BODY).hexdigest(),
    }
    fields.update(changes)
    return SignedRequest(**fields)


def test_the_canonical_string_is_the_contracts_six_lines() -> None:
    signed = request(method="post", host="Gateway.Example:8480", content_type="Application/JSON")
    assert canonical_string(signed) == "\n".join(
        [
            "POST",
            "/v1/sessions?dry=1",
            "gateway.example:8480",
            "2026-11-27T10:00:00Z",
            "application/json",
            hashlib.sha256(BODY).hexdigest(),
        ]
    )
    expected = hmac.new(SECRET.encode(), canonical_string(signed).encode(), hashlib.sha256)
    assert sign(SECRET, signed) == expected.hexdigest()


def test_a_correct_signature_verifies() -> None:
    signed = request()
    verify_signature(SECRET, signed, sign(SECRET, signed), BODY)


@pytest.mark.parametrize(
    "tamper",
    [
        {"method": "DELETE"},
        {"path_with_query": "/v1/sessions?dry=0"},
        {"host": "elsewhere:8480"},
        {"date": "2026-11-27T10:00:01Z"},
        {"content_type": "text/plain"},
    ],
)
def test_any_changed_line_breaks_the_signature(tamper: dict[str, str]) -> None:
    signature = sign(SECRET, request())
    with pytest.raises(SignatureError) as refused:
        verify_signature(SECRET, request(**tamper), signature, BODY)
    assert refused.value.code == "bad-signature"


def test_a_body_other_than_the_hashed_one_is_refused() -> None:
    signed = request()
    with pytest.raises(SignatureError, match="body does not match"):
        verify_signature(SECRET, signed, sign(SECRET, signed), b'{"name": "y"}')


def test_another_secret_does_not_verify() -> None:
    signed = request()
    with pytest.raises(SignatureError, match="signature does not match"):
        verify_signature("other", signed, sign(SECRET, signed), BODY)


def test_an_empty_body_hashes_as_empty_bytes() -> None:
    assert body_sha256(b"") == hashlib.sha256(b"").hexdigest()


def test_the_authorization_header_names_key_and_signature() -> None:
    sig = "ab" * 32
    assert parse_authorization(f"BERTH-HMAC-SHA256 Credential=AK1, Signature={sig}") == (
        "AK1",
        sig,
    )
    for bad in (
        "Basic abc",
        f"BERTH-HMAC-SHA256 Credential=AK1 Signature={sig}",
        "BERTH-HMAC-SHA256",
    ):
        with pytest.raises(SignatureError):
            parse_authorization(bad)


def test_dates_must_be_rfc3339_with_a_zone_and_within_the_skew() -> None:
    assert parse_date("2026-11-27T10:00:00.250Z") == NOW + timedelta(milliseconds=250)
    for bad in ("yesterday", "2026-11-27T10:00:00"):
        with pytest.raises(SignatureError):
            parse_date(bad)
    check_freshness(NOW - timedelta(seconds=299), NOW, 300)
    check_freshness(NOW + timedelta(seconds=299), NOW, 300)
    for off in (-301, 301):
        with pytest.raises(SignatureError) as refused:
            check_freshness(NOW + timedelta(seconds=off), NOW, 300)
        assert refused.value.code == "expired-signature"


def test_a_signature_is_accepted_once_within_the_window_and_then_forgotten() -> None:
    cache = ReplayCache(skew=300)
    cache.remember("a", NOW, NOW)
    with pytest.raises(SignatureError) as refused:
        cache.remember("a", NOW, NOW + timedelta(seconds=10))
    assert refused.value.code == "replayed-signature"
    cache.remember("b", NOW + timedelta(seconds=100), NOW + timedelta(seconds=100))
    # Past its date's window the signature would be refused as expired anyway: forgotten.
    cache.remember("c", NOW + timedelta(seconds=301), NOW + timedelta(seconds=301))
    assert len(cache) == 2


def test_the_replay_cache_refuses_rather_than_forgets_when_full() -> None:
    cache = ReplayCache(skew=300, max_entries=2)
    cache.remember("a", NOW, NOW)
    cache.remember("b", NOW, NOW)
    with pytest.raises(SignatureError):
        cache.remember("c", NOW, NOW)
    with pytest.raises(SignatureError):
        cache.remember("a", NOW, NOW)
