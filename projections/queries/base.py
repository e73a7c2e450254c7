"""What every query shares: the reader, who is reading, pages and their cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
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


class Where:
    """A WHERE clause built filter by filter, with its parameters in order."""

    def __init__(self, clause: str | None = None, params: Sequence[Any] = ()) -> None:
        self._clauses = [clause] if clause else []
        self.params = list(params)

    def add(self, clause: str, *params: Any) -> None:
        self._clauses.append(clause)
        self.params.extend(params)

    def equal(self, column: str, value: Any) -> None:
        """``column = value``; no filter when ``value`` is ``None``."""
        if value is not None:
            self.add(f"{column} = ?", value)

    def one_of(self, column: str, values: Sequence[Any] | None) -> None:
        """``column IN values``; no filter when ``values`` is empty or ``None``."""
        if values:
            self.add(f"{column} IN ({placeholders(len(values))})", *values)

    def sql(self) -> str:
        return f" WHERE {' AND '.join(self._clauses)}" if self._clauses else ""


@dataclass(frozen=True)
class Keyset(Generic[T]):
    """The columns a list is ordered by; its cursors hold the last item's values of them."""

    columns: tuple[str, ...]
    #: the item's values of ``columns``, in the same order, as text
    key: Callable[[T], tuple[str, ...]]
    descending: bool = False
    #: the columns are integers: a cursor's values are read back as such
    integers: bool = False

    def order_by(self) -> str:
        direction = " DESC" if self.descending else ""
        return ", ".join(f"{column}{direction}" for column in self.columns)

    def after(self, cursor: str) -> tuple[str, list[Any]]:
        """The clause that keeps the items after the one ``cursor`` was made from."""
        values: list[Any] = decode_cursor(cursor, len(self.columns))
        if self.integers:
            if not all(v.isdigit() for v in values):
                raise InvalidCursor(f"cursor {cursor[:40]!r} is not one this list handed out")
            values = [int(v) for v in values]
        return self._after(self.columns, values)

    def _after(self, columns: Sequence[str], values: Sequence[Any]) -> tuple[str, list[Any]]:
        beyond = "<" if self.descending else ">"
        first, value = columns[0], values[0]
        if len(columns) == 1:
            return f"{first} {beyond} ?", [value]
        rest, rest_params = self._after(columns[1:], values[1:])
        return f"({first} {beyond} ? OR ({first} = ? AND {rest}))", [value, value, *rest_params]


def read_page(
    conn: Reader,
    select: str,
    where: Where,
    order: Keyset[T],
    items: Callable[[list[Row]], list[T]],
    *,
    limit: int,
    cursor: str | None,
) -> Page[T]:
    """The page at ``cursor`` of what ``select`` finds, in ``order``, as ``items`` reads rows.

    One row more than the limit is fetched: its presence is what says a next page exists.
    """
    limit = clamp(limit)
    if cursor is not None:
        clause, params = order.after(cursor)
        where.add(clause, *params)
    rows = conn.fetchall(
        f"{select}{where.sql()} ORDER BY {order.order_by()} LIMIT ?", [*where.params, limit + 1]
    )
    found = items(rows)
    if len(found) <= limit:
        return Page(items=found, next_cursor=None)
    kept = found[:limit]
    return Page(items=kept, next_cursor=encode_cursor(*order.key(kept[-1])))
