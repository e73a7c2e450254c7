"""How the API commands print: tables and details for people, JSON for programs.

``--json`` output is one JSON document on stdout, with no colours and nothing
else on stdout, so it pipes into ``jq``. Progress and errors go to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOption = Annotated[
    bool, typer.Option("--json", help="One JSON document on stdout, for programs.")
]

STATUS_STYLES = {
    "PENDING": "yellow",
    "SCHEDULED": "cyan",
    "PREPARING": "cyan",
    "RUNNING": "green",
    "TERMINATING": "magenta",
    "TERMINATED": "dim",
    "ERROR": "bold red",
    "CANCELLED": "red",
    "ALIVE": "green",
    "LOST": "bold red",
}

_BINARY_UNITS = (("t", 1024**4), ("g", 1024**3), ("m", 1024**2), ("k", 1024))


def emit_json(value: Any) -> None:
    """Structs, lists and dicts of them, as indented JSON."""
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value), indent=2).decode() + "\n")
    sys.stdout.flush()


def when(moment: datetime | None) -> str:
    """A time in UTC to the second, as tables show it."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def size(amount: str) -> str:
    """A byte count with a binary unit when it has one (``268435456`` → ``256m``)."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return amount
    for unit, factor in _BINARY_UNITS:
        if value >= factor:
            scaled = value / factor
            shown = f"{scaled:.1f}".removesuffix(".0")
            return f"{shown}{unit}"
    return amount


def slots(values: Mapping[str, str]) -> str:
    """Resource slots on one line: ``cpu=1 mem=256m``."""
    if not values:
        return "-"
    return " ".join(f"{k}={size(v) if k == 'mem' else v}" for k, v in sorted(values.items()))


def status(value: str) -> Text:
    return Text(value, style=STATUS_STYLES.get(value, ""))


def table(columns: Sequence[str], rows: Iterable[Sequence[str | Text]]) -> None:
    """Rows under their column headers; ``(none)`` on stderr when there are none.

    The first column names the thing (an id, a name) and is never cut, so it can
    be copied; others wrap on a narrow terminal. Piped, lines are as long as the
    rows need, for ``grep`` and ``awk``.
    """
    rows = list(rows)
    if not rows:
        err.print("(none)")
        return
    shown = Table(box=None, header_style="bold", pad_edge=False)
    first_width = max(len(str(row[0])) for row in rows)
    for index, name in enumerate(columns):
        if index == 0:
            shown.add_column(name, no_wrap=True, min_width=max(first_width, len(name)))
        else:
            shown.add_column(name)
    for row in rows:
        shown.add_row(*row)
    if out.is_terminal:
        out.print(shown)
    else:
        # A console's width caps what it prints: a wide one for this table alone.
        Console(file=sys.stdout, width=10_000, highlight=False, color_system=None).print(shown)


def details(title: str, fields: Sequence[tuple[str, str | Text]]) -> None:
    """One object as aligned ``name: value`` lines under a title."""
    out.print(Text(title, style="bold"))
    width = max((len(name) for name, _ in fields), default=0)
    for name, value in fields:
        out.print(Text(f"  {name:<{width}}  ") + value)
