"""Keypair request signing (``BERTH-HMAC-SHA256``) and bearer tokens, as httpx auth classes.

A signed request carries three headers::

    X-Berth-Date: 2026-11-27T10:00:00.123456Z
    X-Berth-Content-SHA256: <hex sha256 of the raw body>
    Authorization: BERTH-HMAC-SHA256 Credential=<access key>, Signature=<hex>

where the signature is the hex HMAC-SHA256, under the secret key, of the
canonical string: method, path with query (raw, as sent), host (lowercased),
the date header, content type (lowercased, ``""`` if none) and the body's
hash, joined by newlines.

The gateway refuses a signature it has seen before within its skew window. A
program that asks for the same path twice within a second (polling a
session's status, say) would sign identical strings if the date had whole
seconds only, so the date carries microseconds, and :class:`KeypairAuth` never
uses the same instant twice.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta

import httpx

SCHEME = "BERTH-HMAC-SHA256"
DATE_HEADER = "X-Berth-Date"
CONTENT_HASH_HEADER = "X-Berth-Content-SHA256"


def content_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def format_date(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, e.g. ``2026-11-27T10:00:00.000000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_string(
    *, method: str, path: str, host: str, date: str, content_type: str, body_sha256: str
) -> str:
    """What is signed. ``path`` is the path with its query string, exactly as sent."""
    return "\n".join([method.upper(), path, host.lower(), date, content_type.lower(), body_sha256])


def signature(secret_key: str, canonical: str) -> str:
    return hmac.new(secret_key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def authorization_header(access_key: str, signature_hex: str) -> str:
    return f"{SCHEME} Credential={access_key}, Signature={signature_hex}"


def sign_request(request: httpx.Request, access_key: str, secret_key: str, date: str) -> None:
    """Add the signing headers to a request whose body has been read."""
    body = request.content
    body_hash = content_sha256(body)
    canonical = canonical_string(
        method=request.method,
        path=request.url.raw_path.decode("ascii"),
        host=request.headers.get("host", request.url.netloc.decode("ascii")),
        date=date,
        content_type=request.headers.get("content-type", ""),
        body_sha256=body_hash,
    )
    request.headers[DATE_HEADER] = date
    request.headers[CONTENT_HASH_HEADER] = body_hash
    request.headers["Authorization"] = authorization_header(
        access_key, signature(secret_key, canonical)
    )


class KeypairAuth(httpx.Auth):
    """Signs every request with an access key and its secret key."""

    requires_request_body = True

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.access_key = access_key
        self._secret_key = secret_key
        self._clock = clock
        self._last = datetime.min.replace(tzinfo=UTC)
        # One client may sign from several threads (the sync client in a thread pool).
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        # The secret never appears in a log line or a traceback.
        return f"KeypairAuth(access_key={self.access_key!r})"

    def _instant(self) -> datetime:
        """Now, or a microsecond after the last instant used when the clock has not moved."""
        with self._lock:
            now = self._clock()
            if now <= self._last:
                now = self._last + timedelta(microseconds=1)
            self._last = now
            return now

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        sign_request(request, self.access_key, self._secret_key, format_date(self._instant()))
        yield request


class BearerAuth(httpx.Auth):
    """A token from ``POST /v1/auth/tokens``, for programs that should not hold the secret."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "BearerAuth(token=…)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request
