"""Which version of its tables each read model holds, and rebuilding one whose tables are older.

A model declares the version of its tables (:attr:`Projection.schema_version`); the read
store keeps the version it holds in ``projection_schema``, beside the positions. When a
runner starts and finds a model's tables at another version, it drops them, forgets the
model's parked events and sets its position back to zero, all in the transaction that makes
the new tables: the runner then projects the model again from the start of the stream, as
``berth events rebuild`` does, and the tables come out as if they had always had the new
shape. A model at the current version is left as it is.

Read stores made before versions were kept have no row here: a model that had already taken
events in holds version 1 (the first), and one that had not is simply made anew.
"""

from __future__ import annotations

import logging

from projections.base import Projection
from projections.parking import forget_parked
from projections.positions import Position, read_position, write_positions
from projections.read_store import Tx

log = logging.getLogger("berth.projections")

SCHEMA_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_schema ( name TEXT PRIMARY KEY, version BIGINT NOT NULL)"
)


def install_schemas(tx: Tx) -> None:
    tx.execute(SCHEMA_DDL)


def stored_schema(tx: Tx, name: str) -> int | None:
    """The version of ``name``'s tables; None where the store has none of them."""
    row = tx.fetchone("SELECT version FROM projection_schema WHERE name = ?", (name,))
    if row is not None:
        return int(row[0])
    return 1 if read_position(tx, name).notification_id > 0 else None


def write_schema(tx: Tx, name: str, version: int) -> None:
    tx.execute(
        "INSERT INTO projection_schema (name, version) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET version = excluded.version",
        (name, version),
    )


def install_current(tx: Tx, projection: Projection) -> bool:
    """Make ``projection``'s tables, first dropping them where they are of another version;
    True when they were dropped (its position is then zero). The position and parking
    tables must be installed already."""
    held = stored_schema(tx, projection.name)
    wanted = projection.schema_version
    stale = held != wanted
    if stale:
        if held is not None:
            log.warning(
                "%s: its tables are of version %d, this Berth makes version %d: dropping them"
                " and projecting the model again from the start of the stream",
                projection.name,
                held,
                wanted,
            )
        projection.reset(tx)
        forget_parked(tx, projection.name)
        write_positions(tx, {projection.name: Position()})
    projection.install(tx)
    if stale:
        write_schema(tx, projection.name, wanted)
    return stale and held is not None
