"""The manager's working set of aggregates, and the one way they are saved.

The manager is the single writer of its store, and every decision runs on one
thread (see ``bootstrap``), so aggregates can stay in memory between commands:
a scheduling round over thousands of sessions must not replay them from the
store each time. A save that fails (a conflict, a lost database) evicts every
aggregate it touched, so the next use reloads what was really stored.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from services.manager.domain.aggregate import Aggregate, projector
from services.manager.store import EventStore, Saved

A = TypeVar("A", bound=Aggregate)


class Aggregates:
    def __init__(self, store: EventStore, max_cached: int = 200_000) -> None:
        self.store = store
        self._cache: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._max = max_cached
        self._staged: dict[UUID, Aggregate] = {}

    def get(self, cls: type[A], aggregate_id: UUID) -> A | None:
        cached = self._cache.get(aggregate_id)
        if cached is not None:
            self._cache.move_to_end(aggregate_id)
            # An id of another kind (an agent's id where a session's is expected): not found.
            return cached if isinstance(cached, cls) else None
        try:
            loaded: A = self.store.repository.get(aggregate_id, projector_func=projector(cls))
        except AggregateNotFoundError:
            return None
        self._remember(loaded)
        return loaded

    def cached(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """Only what is in memory: no store read (see ``batching`` for when that is enough)."""
        found = self._cache.get(aggregate_id)
        return found if isinstance(found, cls) else None

    def require(self, cls: type[A], aggregate_id: UUID) -> A:
        found = self.get(cls, aggregate_id)
        if found is None:
            raise LookupError(f"no {cls.__name__} {aggregate_id}")
        return found

    def save(self, *aggregates: Aggregate | None) -> list[Saved]:
        return self._save(None, aggregates)

    def save_tracked(
        self, source: str, position: int, *aggregates: Aggregate | None
    ) -> list[Saved]:
        return self._save((source, position), aggregates)

    def stage(self, *aggregates: Aggregate) -> None:
        """Keep decided aggregates for the next :meth:`commit`; later decisions see them.

        Several commands staged and committed together are saved in one
        transaction (group commit): one round trip instead of one per command.
        """
        for aggregate in aggregates:
            self._staged[aggregate.id] = aggregate
            self._remember(aggregate)

    def commit(self) -> list[Saved]:
        staged = tuple(self._staged.values())
        self._staged.clear()
        return self._save(None, staged) if staged else []

    def discard(self) -> None:
        """Forget everything staged since the last commit (the store never saw it)."""
        staged = tuple(self._staged.values())
        self._staged.clear()
        self.evict(*staged)

    def evict_unsaved(self) -> int:
        """After a decision failed half-way: forget every aggregate holding unsaved events,
        so the next decision reads what was really stored. Returns how many."""
        dirty = [a for a in self._cache.values() if a.has_pending()]
        self.evict(*dirty)
        return len(dirty)

    def evict(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self._cache.pop(aggregate.id, None)

    def _save(
        self, tracking: tuple[str, int] | None, aggregates: tuple[Aggregate | None, ...]
    ) -> list[Saved]:
        present = list({a.id: a for a in aggregates if a is not None}.values())
        try:
            recordings = self.store.save_aggregates(present, tracking)
        except BaseException:
            self.evict(*present)
            for aggregate in present:
                aggregate.collect_events()  # drop what was never stored
            raise
        for aggregate in present:
            self._remember(aggregate)
        return recordings

    def _remember(self, aggregate: Any) -> None:
        self._cache[aggregate.id] = aggregate
        self._cache.move_to_end(aggregate.id)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
