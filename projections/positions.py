"""Each projection's position: the last notification its tables include.

The notification id (the stream message's ``Nats-Msg-Id``) is the position; the
stream sequence beside it is only a hint where to resume reading, checked against
the stream before it is trusted. The row is written in the same transaction as
the model's rows, so the tables and the position can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from projections.read_store import Tx

POSITION_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_position ("
    " name TEXT PRIMARY KEY,"
    " notification_id BIGINT NOT NULL,"
    " stream_seq BIGINT NOT NULL)"
)


@dataclass(frozen=True)
class Position:
    notification_id: int = 0
    stream_seq: int = 0


def install_positions(tx: Tx) -> None:
    tx.execute(POSITION_DDL)


def ensure_position(tx: Tx, name: str) -> None:
    """Create the row at zero if missing: the row is the lock that serialises writers."""
    tx.execute(
        "INSERT INTO projection_position (name, notification_id, stream_seq) VALUES (?, 0, 0)"
        " ON CONFLICT (name) DO NOTHING",
        (name,),
    )


def read_positions(tx: Tx, names: Sequence[str], *, lock: bool = False) -> dict[str, Position]:
    """The committed positions of ``names`` (zero where none is stored), in one query.

    ``lock`` holds the rows until commit (PostgreSQL), taken in name order, the
    order every runner and rebuild takes them in, so two writers cannot deadlock.
    """
    if not names:
        return {}
    marks = ", ".join("?" * len(names))
    suffix = " ORDER BY name FOR UPDATE" if lock and tx.dialect == "postgres" else ""
    rows = tx.fetchall(
        "SELECT name, notification_id, stream_seq FROM projection_position"
        f" WHERE name IN ({marks})" + suffix,
        list(names),
    )
    found = {str(r[0]): Position(int(r[1]), int(r[2])) for r in rows}
    return {name: found.get(name, Position()) for name in names}


def read_position(tx: Tx, name: str, *, lock: bool = False) -> Position:
    """The committed position of one model; ``lock`` as for :func:`read_positions`."""
    return read_positions(tx, [name], lock=lock)[name]


def write_positions(tx: Tx, positions: Mapping[str, Position]) -> None:
    """Set each named model's position, in one statement."""
    tx.executemany(
        "INSERT INTO projection_position (name, notification_id, stream_seq) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET"
        " notification_id = excluded.notification_id, stream_seq = excluded.stream_seq",
        [(name, p.notification_id, p.stream_seq) for name, p in sorted(positions.items())],
    )
