"""What every manager handler works with, built once in ``bootstrap``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from uuid import UUID

from events.resource_group import ResourceGroupCreated
from services.manager.aggregates import Aggregates
from services.manager.directory import Directory
from services.manager.domain.resource_group import ResourceGroup
from services.manager.quotas import QuotaLedger
from services.manager.store import EventStore

_GROUP_TOPICS = [f"{ResourceGroupCreated.type_name()}@{ResourceGroupCreated.class_version}"]


@dataclass
class ManagerContext:
    store: EventStore
    aggregates: Aggregates
    directory: Directory
    #: called after a decision that may let the scheduler place something
    wake_scheduler: Callable[[], None] = lambda: None
    #: called when an agent shows it is alive other than by heartbeat (registration)
    agent_seen: Callable[[UUID], object] = lambda _agent_id: None
    group_ids: set[UUID] = field(default_factory=set)

    @classmethod
    def open(cls, store: EventStore) -> ManagerContext:
        ctx = cls(
            store=store, aggregates=Aggregates(store), directory=Directory(store, cached=True)
        )
        ctx.group_ids.update(
            UUID(str(n.originator_id))
            for n in store.app_recorder.select_notifications(
                start=1, limit=1_000_000, topics=_GROUP_TOPICS
            )
        )
        return ctx

    @property
    def quotas(self) -> QuotaLedger:
        return QuotaLedger(self.directory, self.groups)

    def groups(self) -> Iterator[ResourceGroup]:
        for group_id in sorted(self.group_ids):
            group = self.aggregates.get(ResourceGroup, group_id)
            if group is not None:
                yield group
