"""Request ids: what makes a command idempotent, and what gives a new session's id its time.

A client sends each command with a request id of its choosing and sends the same
one again when it retries; the manager decides a command only once per id. Berth
(the gateway, the SDK, the manager's own client) makes them as UUIDv7 (RFC 9562):
the first 48 bits are the Unix time in milliseconds, the rest random.

That time matters for sessions: a session's id is derived from the request
(:func:`services.manager.domain.session.session_id_for`), and when the request id
is a UUIDv7 the session id starts with the same 48 bits (and so do its kernels'
ids, :func:`with_time_of`). Session ids then sort by request time, so every table
and index keyed by session id (the event store's, the read models') takes a new
session near its newest pages instead of on a random page: far fewer pages are
written per session, and the cost does not grow with the number of sessions stored.
"""

from __future__ import annotations

import os
import time
from uuid import UUID

#: bits below the 48-bit millisecond timestamp
_BELOW_TIME = 80
_VERSION_SHIFT = 76
_VARIANT_SHIFT = 62
_VERSION_MASK = 0xF << _VERSION_SHIFT
_VARIANT_MASK = 0x3 << _VARIANT_SHIFT
_RFC_VARIANT = 0x2 << _VARIANT_SHIFT
_TIME_MAX = (1 << 48) - 1


def time_ordered(ms: int, low: int, version: int) -> UUID:
    """A UUID of ``version`` whose first 48 bits are ``ms`` and whose other bits come from
    ``low`` (its lowest 80 bits, less the version and variant bits)."""
    if not 0 <= ms <= _TIME_MAX:
        raise ValueError(f"{ms} ms does not fit in 48 bits")
    value = (ms << _BELOW_TIME) | (low & ((1 << _BELOW_TIME) - 1))
    value = (value & ~_VERSION_MASK) | (version << _VERSION_SHIFT)
    return UUID(int=(value & ~_VARIANT_MASK) | _RFC_VARIANT)


def with_time_of(source: UUID, named: UUID) -> UUID:
    """``named`` with ``source``'s millisecond in front (a UUIDv8) when ``source`` starts
    with one (a UUIDv7 or UUIDv8); ``named`` itself otherwise."""
    if source.version not in (7, 8):
        return named
    return time_ordered(source.int >> _BELOW_TIME, named.int, 8)


def new_request_id() -> str:
    """A fresh request id: a UUIDv7 of this millisecond, as 32 hex digits."""
    ms = time.time_ns() // 1_000_000
    return time_ordered(ms, int.from_bytes(os.urandom(10), "big"), 7).hex


def request_time_ms(request_id: str) -> int | None:
    """The millisecond a UUIDv7 request id was made in; None for any other request id."""
    if len(request_id) > 45:  # longer than any spelling of a UUID: not worth parsing
        return None
    try:
        parsed = UUID(request_id)
    except ValueError:
        return None
    if parsed.version != 7:
        return None
    return parsed.int >> _BELOW_TIME
