"""The base of Berth's aggregates: plain Python, no I/O, no clock.

An aggregate checks its invariants, then records an event with :meth:`_record`;
recording applies the event to itself (through :meth:`apply`), so state only
ever changes by events, and replaying the stored events rebuilds it exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar
from uuid import UUID

from events.base import DomainEvent

E = TypeVar("E", bound=DomainEvent)


class Aggregate:
    #: the ``kind`` of its events: an id whose events are of another kind is not one of these
    kind: ClassVar[str] = ""

    def __init__(self, aggregate_id: UUID) -> None:
        self.id = aggregate_id
        self.version = 0
        self.created_on: datetime | None = None
        self.modified_on: datetime | None = None
        self._pending: list[DomainEvent] = []

    def apply(self, event: DomainEvent) -> None:
        """Change state for one event; subclasses dispatch on the event type."""
        raise NotImplementedError

    def _record(self, event_cls: type[E], at: datetime, **fields: Any) -> E:
        event = event_cls(
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=at,
            **fields,
        )
        self._mutate(event)
        self._pending.append(event)
        return event

    def _mutate(self, event: DomainEvent) -> None:
        if event.originator_version != self.version + 1:
            raise ValueError(
                f"event version {event.originator_version} does not follow {self.version}"
            )
        self.apply(event)
        self.version = event.originator_version
        self.created_on = self.created_on or event.timestamp
        self.modified_on = event.timestamp

    def has_pending(self) -> bool:
        return bool(self._pending)

    def collect_events(self) -> list[DomainEvent]:
        pending, self._pending = self._pending, []
        return pending

    @classmethod
    def replay(cls, events: Iterable[DomainEvent]) -> Self:
        aggregate: Self | None = None
        for event in events:
            if aggregate is None:
                if cls.kind and type(event).kind != cls.kind:
                    raise LookupError(f"{event.originator_id} is not a {cls.__name__}")
                aggregate = cls.__new__(cls)
                Aggregate.__init__(aggregate, event.originator_id)
                aggregate._init_state()
            aggregate._mutate(event)
        if aggregate is None:
            raise LookupError(f"no events for {cls.__name__}")
        return aggregate

    def _init_state(self) -> None:
        """Set the attributes a replayed aggregate has before its first event."""


def projector(cls: type[Aggregate]) -> Any:
    """A projector function for ``Repository.get(..., projector_func=...)``."""

    def project(initial: Aggregate | None, events: Iterable[DomainEvent]) -> Aggregate | None:
        if initial is not None:
            for event in events:
                initial._mutate(event)
            return initial
        try:
            return cls.replay(events)
        except LookupError:
            return None  # the repository turns this into AggregateNotFoundError

    return project
