"""What every query shares: the reader, who is reading, pages and their cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

Row = tuple[Any, ...]
T = TypeVar("T")

MAX_LIMIT = 500


class Reader(Protocol):
    """An open connection to the read models (a projection's ``Tx`` is one too)."""

    @property
    def dialect(self) -> str: ...
    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...
    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class InvalidCursor(ValueError):
    """A ``cursor`` that no page of this list handed out."""


@dataclass(frozen=True)
class Visibility:
    """Who is reading, in the terms the queries filter by."""

    access_key: str
    user_id: str
    role: str
    domain: str
    projects: tuple[str, ...] = ()

    @property
    def is_superadmin(self) -> bool:
        return self.role == "superadmin"

    def administers(self, domain: str) -> bool:
        return self.is_superadmin or (self.role == "domain_admin" and self.domain == domain)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    #: pass back as ``cursor`` for the next page; ``None`` on the last page
    next_cursor: str | None


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor(f"cursor {cursor[:40]!r} is not one this list handed out") from None
    if not isinstance(key, list) or len(key) != size or not all(isinstance(k, str) for k in key):
        raise InvalidCursor(f"cursor {cursor[:40]!r} is not one this list handed out")
    return key


def clamp(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


def page_of(rows: list[T], limit: int, key: Any) -> Page[T]:
    """The first ``limit`` rows, and a cursor after the last when more were fetched."""
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    kept = rows[:limit]
    return Page(items=kept, next_cursor=encode_cursor(*key(kept[-1])))
