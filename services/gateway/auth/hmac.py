"""Request signing with a keypair: the canonical string, its signature, and replay refusal.

A signed request carries::

    X-Berth-Date: 2026-11-27T10:00:00Z
    X-Berth-Content-SHA256: <hex sha256 of the raw body>
    Authorization: BERTH-HMAC-SHA256 Credential=<access key>, Signature=<hex>

and the signature is ``hex(HMAC-SHA256(secret key, canonical))`` over the lines of
:func:`canonical_string`. The date bounds how long a captured request stays
usable (the clock skew window); within it, a signature seen once is refused
again, so a captured request cannot be replayed at all.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

SCHEME = "BERTH-HMAC-SHA256"
DATE_HEADER = "x-berth-date"
CONTENT_HASH_HEADER = "x-berth-content-sha256"

_AUTH_RE = re.compile(
    rf"^{SCHEME}\s+Credential=(?P<credential>[^,\s]{{1,128}})\s*,\s*"
    r"Signature=(?P<signature>[0-9a-fA-F]{64})\s*$"
)
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")


class SignatureError(Exception):
    """A signed request that is refused; ``code`` is the error model's code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SignedRequest:
    """What a signature covers, as the gateway received it."""

    method: str
    #: the raw path and, when there is one, ``?`` and the raw query string
    path_with_query: str
    host: str
    date: str
    content_type: str
    content_sha256: str


def canonical_string(request: SignedRequest) -> str:
    return "\n".join(
        [
            request.method.upper(),
            request.path_with_query,
            request.host.lower(),
            request.date,
            request.content_type.lower(),
            request.content_sha256,
        ]
    )


def sign(secret_key: str, request: SignedRequest) -> str:
    return hmac.new(
        secret_key.encode(), canonical_string(request).encode(), hashlib.sha256
    ).hexdigest()


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def format_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_authorization(header: str) -> tuple[str, str]:
    """``(access key, signature)`` from an Authorization header of the signing scheme."""
    match = _AUTH_RE.match(header.strip())
    if match is None:
        raise SignatureError(
            "bad-signature",
            f"Authorization must be '{SCHEME} Credential=<access key>, Signature=<64 hex>'",
        )
    return match["credential"], match["signature"].lower()


def parse_date(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SignatureError(
            "bad-signature", f"X-Berth-Date {text[:40]!r} is not an RFC 3339 time"
        ) from None
    if moment.tzinfo is None:
        raise SignatureError("bad-signature", "X-Berth-Date must carry a time zone (use Z)")
    return moment


def check_freshness(date: datetime, now: datetime, skew: float) -> None:
    drift = abs((now - date).total_seconds())
    if drift > skew:
        raise SignatureError(
            "expired-signature",
            f"X-Berth-Date is {drift:.0f} s from the gateway's clock (at most {skew:.0f} s)",
        )


def verify_signature(secret_key: str, request: SignedRequest, signature: str, body: bytes) -> None:
    """Refuse unless ``signature`` is this request's, and the body is the one hashed."""
    if not _HEX64_RE.match(request.content_sha256):
        raise SignatureError("bad-signature", "X-Berth-Content-SHA256 must be 64 lowercase hex")
    if not hmac.compare_digest(body_sha256(body), request.content_sha256):
        raise SignatureError("bad-signature", "the body does not match X-Berth-Content-SHA256")
    if not hmac.compare_digest(sign(secret_key, request), signature):
        raise SignatureError(
            "bad-signature", "the signature does not match the request and the key's secret"
        )


class ReplayCache:
    """Signatures seen within the skew window; each is forgotten once its date is too old.

    A signature is usable only while its date is within ``skew`` of the clock, so
    it needs remembering until ``date + skew`` and no longer: memory is bounded by
    the number of requests signed within one window. ``max_entries`` caps even
    that; at the cap new signatures are refused (``replayed-signature`` would be
    wrong), so an attacker cannot push out what is remembered.
    """

    def __init__(self, skew: float, max_entries: int = 1_000_000) -> None:
        self._skew = skew
        self._max = max_entries
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget_expired(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            expires, signature = heapq.heappop(self._heap)
            if self._expiry.get(signature) == expires:
                del self._expiry[signature]

    def remember(self, signature: str, date: datetime, now: datetime) -> None:
        """Record a verified signature; refuse it if it was seen before."""
        expires = date.timestamp() + self._skew
        with self._lock:
            self._forget_expired(now.timestamp())
            if signature in self._expiry:
                raise SignatureError(
                    "replayed-signature", "this signed request was received before"
                )
            if len(self._expiry) >= self._max:
                raise SignatureError(
                    "replayed-signature",
                    "too many signed requests within the clock skew window; retry shortly",
                )
            self._expiry[signature] = expires
            heapq.heappush(self._heap, (expires, signature))
