"""Holding a transaction's writes back and sending them table by table, in runs.

A batch of events becomes thousands of single-row statements, each of which costs
a driver call (and on PostgreSQL a protocol round in the pipeline) however small
it is. Read models write no statement that reads another table, so writes to
different tables can be sent in any order as long as each table's writes keep
theirs. :class:`HeldWrites` collects them by table; when flushed, a run of one
``INSERT ... VALUES`` (plain, or ``ON CONFLICT ... DO NOTHING``) goes as
multi-row statements, and any other run of one statement as one ``executemany``.
A transaction flushes before any read, savepoint or other statement, and before
it commits, so everything reads as if each write had been sent at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

Params = Sequence[Any]

_WRITE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([A-Za-z_][A-Za-z0-9_]*)\b", re.I)
_INSERT_VALUES = re.compile(
    r"(\s*INSERT\s+INTO\s+\w+\s*\([^()]*\)\s*VALUES\s*)(\([^()]*\))"
    r"(\s*(?:ON\s+CONFLICT\s*\([^()]*\)\s*DO\s+NOTHING)?\s*)",
    re.I,
)


@lru_cache(maxsize=512)
def written_table(sql: str) -> str | None:
    """The one table an ``INSERT``, ``UPDATE`` or ``DELETE`` writes; None for anything else."""
    match = _WRITE.match(sql)
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class MultiRowInsert:
    """An ``INSERT ... VALUES (...)`` that can take many rows in one statement."""

    head: str
    row: str
    tail: str

    #: rows per statement: powers of two, so a run of any length needs few distinct statements
    SIZES = (64, 32, 16, 8, 4, 2, 1)

    def statement(self, rows: int, *, numbered: bool = False) -> str:
        """The statement for ``rows`` rows: ``?`` parameters, or ``$1``… when ``numbered``."""
        values = ", ".join([self.row] * rows)
        if numbered:
            numbers = iter(range(1, rows * self.row.count("?") + 1))
            values = re.sub(r"\?", lambda _: f"${next(numbers)}", values)
        return self.head + values + self.tail

    def chunks(self, rows: Sequence[Params]) -> Iterator[tuple[int, list[Any]]]:
        """The rows in statements of :attr:`SIZES`, in order: each size with its parameters."""
        start = 0
        for size in self.SIZES:
            while len(rows) - start >= size:
                yield size, list(chain.from_iterable(rows[start : start + size]))
                start += size


@lru_cache(maxsize=512)
def multirow_insert(sql: str) -> MultiRowInsert | None:
    """``sql`` as a :class:`MultiRowInsert`, or None when it is not one."""
    match = _INSERT_VALUES.fullmatch(sql)
    return MultiRowInsert(*match.groups()) if match else None


class HeldWrites:
    """The writes of one transaction not sent yet, by table, in order.

    A read model writes the same few statements over and over, so each statement whose
    run is the last of its table is kept by its text as well (``_open``): the next row of
    it is one dictionary lookup and one append away.
    """

    def __init__(self) -> None:
        self._runs: dict[str, list[tuple[str, list[Params]]]] = {}
        #: the rows of each statement whose run is the last of its table
        self._open: dict[str, list[Params]] = {}

    def hold_one(self, sql: str, params: Params) -> bool:
        """Hold one row back; False (and nothing held) when ``sql`` is not a write."""
        rows = self._open.get(sql)
        if rows is not None:
            rows.append(params)
            return True
        return self._start(sql, [params])

    def hold(self, sql: str, rows: Sequence[Params]) -> bool:
        """Hold the write back; False (and nothing held) when ``sql`` is not a write."""
        held = self._open.get(sql)
        if held is not None:
            held.extend(rows)
            return True
        return self._start(sql, list(rows))

    def _start(self, sql: str, rows: list[Params]) -> bool:
        """A new run of ``sql`` at the end of its table's runs."""
        table = written_table(sql)
        if table is None:
            return False
        runs = self._runs.setdefault(table, [])
        if runs:
            self._open.pop(runs[-1][0], None)  # the table's last run is another statement's
        runs.append((sql, rows))
        self._open[sql] = rows
        return True

    def discard(self) -> None:
        self._runs = {}
        self._open = {}

    def flush(
        self,
        one: Callable[[str, Params], object],
        many: Callable[[str, Sequence[Params]], object],
        inserts: Callable[[MultiRowInsert, int, list[Any]], object],
    ) -> None:
        """Send everything held: ``one`` statement with its row, ``many`` rows of one
        statement, or ``inserts`` rows of a multi-row insert with their parameters."""
        runs_by_table, self._runs = self._runs, {}
        self._open = {}
        for runs in runs_by_table.values():
            for sql, rows in runs:
                insert = multirow_insert(sql) if len(rows) > 1 else None
                if insert is not None:
                    for size, params in insert.chunks(rows):
                        inserts(insert, size, params)
                elif len(rows) == 1:
                    one(sql, rows[0])
                else:
                    many(sql, rows)
