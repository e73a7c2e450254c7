"""Self-contained bearer tokens, signed with the gateway's own key.

A token is ``bt1.<payload>.<mac>`` (base64url, no padding): the payload names the
access key, what the token is for (``bearer`` for programs, ``session`` for a
browser cookie) and when it expires; the MAC is HMAC-SHA256 under the gateway
key. Nothing is stored per token, so any gateway holding the same key accepts
it; a token ends at its expiry (and with its keypair: each use looks the key up).

The key is 32 random bytes in ``<data dir>/gateway.key``, created with mode 0600
on first start; a file readable by others is refused. Replacing the file ends
every token issued so far.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import msgspec

from services.key_files import KeyFileError, load_key_file

PREFIX = "bt1"
KEY_BYTES = 32
Use = Literal["bearer", "session"]


class TokenError(Exception):
    """A token that is refused; ``code`` is the error model's code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class GatewayKeyError(KeyFileError):
    """The gateway key file is malformed or readable by others."""


class _Claims(msgspec.Struct, frozen=True, kw_only=True):
    ak: str
    use: Use
    exp: int
    #: random, so two tokens issued in the same second differ
    n: str


@dataclass(frozen=True)
class Token:
    access_key: str
    use: Use
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_gateway_key(path: Path) -> bytes:
    """The key in ``path``, creating it (0600, written atomically) when missing."""
    try:
        return load_key_file(path, KEY_BYTES)
    except KeyFileError as exc:
        raise GatewayKeyError(str(exc)) from None


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        # A subkey of its own, so the file's key signs nothing else directly.
        self._key = hmac.digest(key, b"berth gateway token v1", hashlib.sha256)

    def _mac(self, payload: str) -> str:
        return _b64(hmac.digest(self._key, f"{PREFIX}.{payload}".encode(), hashlib.sha256))

    def issue(self, access_key: str, use: Use, expires_at: datetime) -> str:
        claims = _Claims(
            ak=access_key, use=use, exp=int(expires_at.timestamp()), n=secrets.token_hex(8)
        )
        payload = _b64(msgspec.json.encode(claims))
        return f"{PREFIX}.{payload}.{self._mac(payload)}"

    def verify(self, token: str, use: Use, now: datetime) -> Token:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            raise TokenError("unauthenticated", "not a Berth token")
        payload, mac = parts[1], parts[2]
        if not hmac.compare_digest(self._mac(payload), mac):
            raise TokenError("unauthenticated", "the token's signature does not match")
        try:
            claims = msgspec.json.decode(_unb64(payload), type=_Claims)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            raise TokenError("unauthenticated", "the token is malformed") from None
        if claims.use != use:
            raise TokenError("unauthenticated", f"a {claims.use} token cannot be used here")
        expires_at = datetime.fromtimestamp(claims.exp, UTC)
        if expires_at <= now:
            raise TokenError("unauthenticated", f"the token expired at {expires_at.isoformat()}")
        return Token(access_key=claims.ak, use=claims.use, expires_at=expires_at)
