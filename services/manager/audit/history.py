"""``berth events history``: one aggregate's events, version by version, from the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from services.manager.audit.event_view import EventView, describe


class AggregateEvents(Protocol):
    def select_events(self, originator_id: UUID | str) -> Sequence[StoredEvent]: ...


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    view: EventView

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, **self.view.to_json()}


def aggregate_history(recorder: AggregateEvents, aggregate_id: UUID) -> list[HistoryEntry]:
    """Every stored event of ``aggregate_id`` in version order (empty when it has none)."""
    stored = sorted(recorder.select_events(aggregate_id), key=lambda e: e.originator_version)
    return [HistoryEntry(e.originator_version, describe(e.topic, e.state)) for e in stored]
