"""``ResourceGroupView``: each resource group, its scheduling policy, its agents and its queue.

``rgroup_view`` holds one row per group with counts and the total capacity of
the agents that take new sessions now; ``rgroup_agent`` the member agents with
their capacity and whether they are schedulable; ``rgroup_pending`` the
sessions waiting in the group's queue.
"""

from __future__ import annotations

import json
from typing import ClassVar

from events.base import DomainEvent
from events.resource_group import (
    AgentAvailabilityChanged,
    AgentCapacityChanged,
    AgentJoined,
    AgentRemoved,
    ResourceGroupCreated,
    ResourceGroupPolicyChanged,
    SessionDequeued,
    SessionEnqueued,
    SessionsPlaced,
)
from projections.base import EventMeta, Projection, handles
from projections.json_text import json_text
from projections.read_store import Tx
from services.manager.scheduler.slots import ResourceSlots


def _json(value: object) -> str:
    return json_text(value)


class ResourceGroupView(Projection):
    name: ClassVar[str] = "resource-groups"
    tables: ClassVar[dict[str, str]] = {
        "rgroup_view": "id",
        "rgroup_agent": "group_id, agent_id",
        "rgroup_pending": "group_id, session_id",
    }

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS rgroup_view ("
            " id TEXT PRIMARY KEY,"
            " name TEXT NOT NULL UNIQUE,"
            " queue_order TEXT NOT NULL,"
            " agent_selector TEXT NOT NULL,"
            " max_attempts INTEGER NOT NULL,"
            " pending_timeout DOUBLE PRECISION,"
            " agents INTEGER NOT NULL,"
            " schedulable_agents INTEGER NOT NULL,"
            " capacity TEXT NOT NULL,"
            " pending INTEGER NOT NULL,"
            " created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL,"
            " version BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS rgroup_agent ("
            " group_id TEXT NOT NULL,"
            " agent_id TEXT NOT NULL,"
            " capacity TEXT NOT NULL,"
            " schedulable INTEGER NOT NULL,"
            " PRIMARY KEY (group_id, agent_id))",
            "CREATE TABLE IF NOT EXISTS rgroup_pending ("
            " group_id TEXT NOT NULL,"
            " session_id TEXT NOT NULL,"
            " PRIMARY KEY (group_id, session_id))",
        ]

    @handles(ResourceGroupCreated)
    def _created(self, tx: Tx, event: ResourceGroupCreated, meta: EventMeta) -> None:
        tx.execute(
            "INSERT INTO rgroup_view (id, name, queue_order, agent_selector,"
            " max_attempts, pending_timeout, agents, schedulable_agents, capacity,"
            " pending, created_at, updated_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, 0, 0, '{}', 0, ?, ?, ?)",
            (
                meta.aggregate_id,
                event.name,
                event.queue_order,
                event.agent_selector,
                event.max_attempts,
                event.pending_timeout,
                meta.at,
                meta.at,
                event.originator_version,
            ),
        )

    @handles(ResourceGroupPolicyChanged)
    def _policy_changed(self, tx: Tx, event: ResourceGroupPolicyChanged, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE rgroup_view SET queue_order = ?, agent_selector = ?,"
            " max_attempts = ?, pending_timeout = ? WHERE id = ?",
            (
                event.queue_order,
                event.agent_selector,
                event.max_attempts,
                event.pending_timeout,
                meta.aggregate_id,
            ),
        )
        self._touch(tx, event, meta)

    @handles(AgentJoined)
    def _joined(self, tx: Tx, event: AgentJoined, meta: EventMeta) -> None:
        tx.execute(
            "INSERT INTO rgroup_agent (group_id, agent_id, capacity, schedulable)"
            " VALUES (?, ?, ?, 1) ON CONFLICT (group_id, agent_id) DO UPDATE SET"
            " capacity = excluded.capacity, schedulable = 1",
            (meta.aggregate_id, str(event.agent_id), _json(event.capacity)),
        )
        self._agents(tx, event, meta)

    @handles(AgentCapacityChanged)
    def _capacity_changed(self, tx: Tx, event: AgentCapacityChanged, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE rgroup_agent SET capacity = ? WHERE group_id = ? AND agent_id = ?",
            (_json(event.capacity), meta.aggregate_id, str(event.agent_id)),
        )
        self._agents(tx, event, meta)

    @handles(AgentAvailabilityChanged)
    def _availability_changed(
        self, tx: Tx, event: AgentAvailabilityChanged, meta: EventMeta
    ) -> None:
        tx.execute(
            "UPDATE rgroup_agent SET schedulable = ? WHERE group_id = ? AND agent_id = ?",
            (int(event.schedulable), meta.aggregate_id, str(event.agent_id)),
        )
        self._agents(tx, event, meta)

    @handles(AgentRemoved)
    def _removed(self, tx: Tx, event: AgentRemoved, meta: EventMeta) -> None:
        tx.execute(
            "DELETE FROM rgroup_agent WHERE group_id = ? AND agent_id = ?",
            (meta.aggregate_id, str(event.agent_id)),
        )
        self._agents(tx, event, meta)

    @handles(SessionEnqueued)
    def _enqueued(self, tx: Tx, event: SessionEnqueued, meta: EventMeta) -> None:
        self._queue(tx, event, meta, str(event.session.session_id), waiting=True)

    @handles(SessionsPlaced)
    def _placed(self, tx: Tx, event: SessionsPlaced, meta: EventMeta) -> None:
        for placed in event.placements:
            self._queue(tx, event, meta, str(placed.session_id), waiting=False, touch=False)
        self._touch(tx, event, meta)

    @handles(SessionDequeued)
    def _dequeued(self, tx: Tx, event: SessionDequeued, meta: EventMeta) -> None:
        self._queue(tx, event, meta, str(event.session_id), waiting=False)

    def _agents(self, tx: Tx, event: DomainEvent, meta: EventMeta) -> None:
        rows = tx.fetchall(
            "SELECT capacity, schedulable FROM rgroup_agent WHERE group_id = ?",
            (meta.aggregate_id,),
        )
        schedulable = [r for r in rows if int(r[1])]
        capacity = ResourceSlots.sum(ResourceSlots.from_json(json.loads(r[0])) for r in schedulable)
        tx.execute(
            "UPDATE rgroup_view SET agents = ?, schedulable_agents = ?, capacity = ? WHERE id = ?",
            (len(rows), len(schedulable), _json(capacity.to_json()), meta.aggregate_id),
        )
        self._touch(tx, event, meta)

    @staticmethod
    def _queue(
        tx: Tx,
        event: DomainEvent,
        meta: EventMeta,
        session_id: str,
        *,
        waiting: bool,
        touch: bool = True,
    ) -> None:
        """Add or remove one queued session and count it; a count, not a recount, since a
        busy group's queue can be long and each request would otherwise scan it."""
        group_id = meta.aggregate_id
        key = (group_id, session_id)
        queued = tx.fetchone(
            "SELECT 1 FROM rgroup_pending WHERE group_id = ? AND session_id = ?", key
        )
        change = 0
        if waiting and queued is None:
            tx.execute("INSERT INTO rgroup_pending (group_id, session_id) VALUES (?, ?)", key)
            change = 1
        elif not waiting and queued is not None:
            tx.execute("DELETE FROM rgroup_pending WHERE group_id = ? AND session_id = ?", key)
            change = -1
        if touch:
            tx.execute(
                "UPDATE rgroup_view SET pending = pending + ?, updated_at = ?, version = ?"
                " WHERE id = ?",
                (change, meta.at, event.originator_version, group_id),
            )
        elif change:
            tx.execute(
                "UPDATE rgroup_view SET pending = pending + ? WHERE id = ?", (change, group_id)
            )

    @staticmethod
    def _touch(tx: Tx, event: DomainEvent, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE rgroup_view SET updated_at = ?, version = ? WHERE id = ?",
            (meta.at, event.originator_version, meta.aggregate_id),
        )
