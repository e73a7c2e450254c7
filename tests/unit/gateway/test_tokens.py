"""Bearer tokens and the gateway key they are signed with."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.gateway.auth.tokens import GatewayKeyError, TokenError, TokenSigner, load_gateway_key

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_the_key_is_created_once_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "gateway.key"
    key = load_gateway_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_gateway_key(path) == key


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gateway.key"
    load_gateway_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(GatewayKeyError, match="0600"):
        load_gateway_key(path)


def test_a_token_names_its_key_and_use_until_it_expires() -> None:
    signer = TokenSigner(b"k" * 32)
    token = signer.issue("AK1", "bearer", NOW + timedelta(hours=1))
    claims = signer.verify(token, "bearer", NOW)
    assert (claims.access_key, claims.use) == ("AK1", "bearer")
    assert claims.expires_at == NOW + timedelta(hours=1)
    # Two tokens issued alike still differ.
    assert signer.issue("AK1", "bearer", NOW + timedelta(hours=1)) != token
    with pytest.raises(TokenError, match="expired"):
        signer.verify(token, "bearer", NOW + timedelta(hours=1, seconds=1))


def test_a_cookie_token_is_no_bearer_token_and_the_reverse() -> None:
    signer = TokenSigner(b"k" * 32)
    cookie = signer.issue("AK1", "session", NOW + timedelta(hours=1))
    with pytest.raises(TokenError, match="session token"):
        signer.verify(cookie, "bearer", NOW)


@pytest.mark.parametrize("position", [4, 20, -3])
def test_a_changed_token_is_refused(position: int) -> None:
    signer = TokenSigner(b"k" * 32)
    token = signer.issue("AK1", "bearer", NOW + timedelta(hours=1))
    flipped = "A" if token[position] != "A" else "B"
    tampered = token[:position] + flipped + token[position + 1 :]
    with pytest.raises(TokenError):
        signer.verify(tampered, "bearer", NOW)


def test_another_gateway_key_does_not_verify() -> None:
    token = TokenSigner(b"k" * 32).issue("AK1", "bearer", NOW + timedelta(hours=1))
    with pytest.raises(TokenError, match="signature"):
        TokenSigner(b"j" * 32).verify(token, "bearer", NOW)
    for junk in ("", "bt1.x", "xyz.a.b"):
        with pytest.raises(TokenError):
            TokenSigner(b"k" * 32).verify(junk, "bearer", NOW)
