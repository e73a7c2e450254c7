"""Each projection's position: the last notification its tables include.

The notification id (the stream message's ``Nats-Msg-Id``) is the position; the
stream sequence beside it is only a hint where to resume reading, checked against
the stream before it is trusted. The row is written in the same transaction as
the model's rows, so the tables and the position can never disagree.
"""

from __future__ import annotations

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


def read_position(tx: Tx, name: str, *, lock: bool = False) -> Position:
    """The committed position; ``lock`` holds the row until commit (PostgreSQL)."""
    suffix = " FOR UPDATE" if lock and tx.dialect == "postgres" else ""
    row = tx.fetchone(
        "SELECT notification_id, stream_seq FROM projection_position WHERE name = ?" + suffix,
        (name,),
    )
    return Position(int(row[0]), int(row[1])) if row else Position()


def write_position(tx: Tx, name: str, position: Position) -> None:
    tx.execute(
        "INSERT INTO projection_position (name, notification_id, stream_seq) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET"
        " notification_id = excluded.notification_id, stream_seq = excluded.stream_seq",
        (name, position.notification_id, position.stream_seq),
    )
