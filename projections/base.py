"""What a read model is: a name, its tables, and how each decided event changes them.

A projection never sees NATS or the position bookkeeping: the runner hands it
decoded events inside the batch's transaction, in stream order, each exactly
once, and commits its rows together with the position.

A model names the events it reacts to by marking a method for each with
:func:`handles`; the runner calls a model only for those, so the many events a
model does not care about cost it nothing.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple, TypeVar

from events.base import DomainEvent
from events.codec import is_current
from projections.read_store import Row, Tx

#: how a current payload begins, as msgspec writes it: the fields of ``DomainEvent`` in
#: their order, the id in canonical form, the time with six digits of fraction or none
_HEAD = re.compile(
    rb'\{"originator_id":"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",'
    rb'"originator_version":\d+,'
    rb'"timestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?)(Z|[+-]\d\d:\d\d)"'
)


_new_tuple = tuple.__new__


class EventMeta(NamedTuple):
    """Where an event came from, and its id and time as read models store them.

    Made once per event for all the models that apply it.
    """

    notification_id: int
    stream_seq: int
    subject: str
    topic: str
    #: ``str(event.originator_id)``
    aggregate_id: str
    #: ``event.timestamp.isoformat()``
    at: str
    #: the event as it came off the stream (msgspec JSON of ``topic``'s version)
    payload: bytes
    #: where the event's own fields start in ``payload`` (after the envelope's ``,``);
    #: 0 when the payload is not spelled as this version's encoder spells it
    fields_at: int

    @classmethod
    def of(
        cls,
        event: DomainEvent,
        notification_id: int,
        stream_seq: int,
        subject: str,
        topic: str,
        payload: bytes,
    ) -> EventMeta:
        """The id and time are read from the payload when it is a current version's, as
        msgspec wrote it (the same text ``str`` and ``isoformat`` give, made faster), and
        taken from the decoded event otherwise."""
        head = _HEAD.match(payload) if is_current(topic) else None
        if head is not None and head[3] != b"-00:00":
            offset = head[3]
            return _new_tuple(  # one made for every event: without the Python-level __new__
                cls,
                (
                    notification_id,
                    stream_seq,
                    subject,
                    topic,
                    head[1].decode(),
                    (head[2] + (b"+00:00" if offset == b"Z" else offset)).decode(),
                    payload,
                    head.end() + 1,
                ),
            )
        return cls(
            notification_id,
            stream_seq,
            subject,
            topic,
            str(event.originator_id),
            event.timestamp.isoformat(),
            payload,
            0,
        )


#: a projection's method for one kind of event: ``(self, tx, event, meta)``
Handler = Callable[[Any, Tx, Any, EventMeta], None]
H = TypeVar("H", bound=Callable[..., None])

_HANDLES = "__projection_handles__"


def handles(*event_types: type[DomainEvent]) -> Callable[[H], H]:
    """Mark a projection method as the one that applies each of ``event_types``."""

    def mark(method: H) -> H:
        setattr(method, _HANDLES, event_types)
        return method

    return mark


class Projection(ABC):
    #: unique, stable: names the position row (and the consumer of a group of this model alone)
    name: ClassVar[str]
    #: each table with the columns that order a full dump of it (used by reset and dumps)
    tables: ClassVar[dict[str, str]]
    #: the version of the tables :meth:`ddl` makes: raise it with any change a table already
    #: made cannot take, and every read store rebuilds the model once (:mod:`projections.schema`)
    schema_version: ClassVar[int] = 1
    #: the method for each event type the model reacts to, collected from :func:`handles`
    handlers: ClassVar[dict[type[DomainEvent], Handler]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[type[DomainEvent], Handler] = {}
        for klass in reversed(cls.__mro__):  # a subclass's handler replaces its base's
            own: dict[type[DomainEvent], Handler] = {}
            for attribute in vars(klass).values():
                for event_type in getattr(attribute, _HANDLES, ()):
                    if event_type in own:
                        raise TypeError(
                            f"{klass.__name__} handles {event_type.__name__} twice"
                            f" ({own[event_type].__name__}, {attribute.__name__})"
                        )
                    own[event_type] = attribute
            table.update(own)
        cls.handlers = table

    @abstractmethod
    def ddl(self, dialect: str) -> list[str]:
        """``CREATE TABLE/INDEX IF NOT EXISTS`` statements for this model's tables."""

    def apply(self, tx: Tx, event: DomainEvent, meta: EventMeta) -> None:
        """Change the model for one event; events the model ignores are simply passed over."""
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(self, tx, event, meta)

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
