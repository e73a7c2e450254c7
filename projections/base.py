"""What a read model is: a name, its tables, and how each decided event changes them.

A projection never sees NATS or the position bookkeeping: the runner hands it
decoded events inside the batch's transaction, in stream order, each exactly
once, and commits its rows together with the position.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from events.base import DomainEvent
from projections.read_store import Row, Tx


@dataclass(frozen=True)
class EventMeta:
    """Where an event came from: its place in the store's log and on the stream."""

    notification_id: int
    stream_seq: int
    subject: str
    topic: str


class Projection(ABC):
    #: unique, stable: names the position row (and the consumer of a group of this model alone)
    name: ClassVar[str]
    #: each table with the columns that order a full dump of it (used by reset and dumps)
    tables: ClassVar[dict[str, str]]

    @abstractmethod
    def ddl(self, dialect: str) -> list[str]:
        """``CREATE TABLE/INDEX IF NOT EXISTS`` statements for this model's tables."""

    @abstractmethod
    def apply(self, tx: Tx, event: DomainEvent, meta: EventMeta) -> None:
        """Change the model for one event; events the model ignores are simply passed over."""

    def install(self, tx: Tx) -> None:
        for statement in self.ddl(tx.dialect):
            tx.execute(statement)

    def reset(self, tx: Tx) -> None:
        """Drop the model's tables, so that it can be rebuilt from the first event."""
        for table in reversed(list(self.tables)):
            tx.execute(f"DROP TABLE IF EXISTS {table}")

    def dump(self, tx: Tx) -> dict[str, list[Row]]:
        """Every row of every table, in a stable order: two equal dumps are equal models."""
        return {
            table: tx.fetchall(f"SELECT * FROM {table} ORDER BY {order}")
            for table, order in self.tables.items()
        }
