"""``AgentView``: every agent (node) as operators list them, with what runs on it.

``agent_view`` holds one row per agent: where it belongs, whether it is alive,
its capacity and images as last registered, and how much of it the kernels
assigned to it hold now. ``agent_kernel`` holds those kernels (assigned and not
yet released), the same set the manager's ``AgentNode`` keeps, so the
allocation shown is exactly the one the scheduler counts with. The total is
kept as it goes (plus on assignment, minus on release): slot arithmetic is
exact, so it equals the sum of the kernels held, without reading them all for
every change.
"""

from __future__ import annotations

import json
from typing import ClassVar

from events.agent import (
    AgentDecommissioned,
    AgentLost,
    AgentRecovered,
    AgentRegistered,
    AgentUpdated,
    KernelAssigned,
    KernelReleased,
    KernelTerminationRequested,
)
from events.base import DomainEvent
from projections.base import EventMeta, Projection, handles
from projections.json_text import json_text
from projections.read_store import Tx
from services.manager.scheduler.slots import ResourceSlots

ALIVE = "ALIVE"
LOST = "LOST"
DECOMMISSIONED = "DECOMMISSIONED"

_StatusOnly = AgentLost | AgentRecovered | AgentDecommissioned
#: the events that change the agent's status and nothing else
_STATUS_ONLY: dict[type[_StatusOnly], str] = {
    AgentLost: LOST,
    AgentRecovered: ALIVE,
    AgentDecommissioned: DECOMMISSIONED,
}


_json = json_text


class AgentView(Projection):
    name: ClassVar[str] = "agents"
    tables: ClassVar[dict[str, str]] = {
        "agent_view": "id",
        "agent_kernel": "agent_id, kernel_id",
    }

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS agent_view ("
            " id TEXT PRIMARY KEY,"
            " name TEXT NOT NULL,"
            " resource_group TEXT NOT NULL,"
            " architecture TEXT NOT NULL,"
            " status TEXT NOT NULL,"
            " status_reason TEXT NOT NULL,"
            " capacity TEXT NOT NULL,"
            " allocated TEXT NOT NULL,"
            " images TEXT NOT NULL,"
            " simulated INTEGER NOT NULL,"
            " agent_version TEXT NOT NULL,"
            " kernels INTEGER NOT NULL,"
            " registered_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL,"
            " version BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS agent_view_name ON agent_view (name)",
            "CREATE TABLE IF NOT EXISTS agent_kernel ("
            " agent_id TEXT NOT NULL,"
            " kernel_id TEXT NOT NULL,"
            " session_id TEXT NOT NULL,"
            " kernel_index INTEGER NOT NULL,"
            " slots TEXT NOT NULL,"
            " terminating INTEGER NOT NULL,"
            " PRIMARY KEY (agent_id, kernel_id))",
        ]

    @handles(AgentRegistered)
    def _registered(self, tx: Tx, event: AgentRegistered, meta: EventMeta) -> None:
        tx.execute(
            "INSERT INTO agent_view (id, name, resource_group, architecture, status,"
            " status_reason, capacity, allocated, images, simulated, agent_version,"
            " kernels, registered_at, updated_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                meta.aggregate_id,
                event.name,
                event.resource_group,
                event.architecture,
                ALIVE,
                "registered",
                _json(event.capacity),
                "{}",
                _json(sorted(event.images)),
                int(event.simulated),
                event.version,
                0,
                meta.at,
                meta.at,
                event.originator_version,
            ),
        )

    @handles(AgentUpdated)
    def _updated(self, tx: Tx, event: AgentUpdated, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE agent_view SET capacity = ?, images = ?, agent_version = ? WHERE id = ?",
            (
                _json(event.capacity),
                _json(sorted(event.images)),
                event.version,
                meta.aggregate_id,
            ),
        )
        self._touch(tx, event, meta)

    @handles(KernelAssigned)
    def _assigned(self, tx: Tx, event: KernelAssigned, meta: EventMeta) -> None:
        tx.execute(
            "INSERT INTO agent_kernel (agent_id, kernel_id, session_id, kernel_index,"
            " slots, terminating) VALUES (?, ?, ?, ?, ?, 0)",
            (
                meta.aggregate_id,
                str(event.kernel_id),
                str(event.session_id),
                event.kernel_index,
                _json(event.slots),
            ),
        )
        self._allocate(tx, event, meta, ResourceSlots.from_json(event.slots), +1)

    @handles(KernelTerminationRequested)
    def _terminating(self, tx: Tx, event: KernelTerminationRequested, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE agent_kernel SET terminating = 1 WHERE agent_id = ? AND kernel_id = ?",
            (meta.aggregate_id, str(event.kernel_id)),
        )
        self._touch(tx, event, meta)

    @handles(KernelReleased)
    def _released(self, tx: Tx, event: KernelReleased, meta: EventMeta) -> None:
        key = (meta.aggregate_id, str(event.kernel_id))
        row = tx.fetchone(
            "SELECT slots FROM agent_kernel WHERE agent_id = ? AND kernel_id = ?", key
        )
        if row is None:
            self._touch(tx, event, meta)
            return
        tx.execute("DELETE FROM agent_kernel WHERE agent_id = ? AND kernel_id = ?", key)
        self._allocate(tx, event, meta, ResourceSlots.from_json(json.loads(row[0])), -1)

    @handles(*_STATUS_ONLY)
    def _moved(self, tx: Tx, event: _StatusOnly, meta: EventMeta) -> None:
        self._status(tx, event, meta, _STATUS_ONLY[type(event)], event.reason)

    @staticmethod
    def _allocate(
        tx: Tx, event: DomainEvent, meta: EventMeta, slots: ResourceSlots, sign: int
    ) -> None:
        """Add (``sign`` +1) or take away (-1) one kernel's slots, and touch the row."""
        row = tx.fetchone(
            "SELECT allocated, kernels FROM agent_view WHERE id = ?", (meta.aggregate_id,)
        )
        if row is None:
            return
        held = ResourceSlots.from_json(json.loads(row[0]))
        total = held + slots if sign > 0 else held - slots
        tx.execute(
            "UPDATE agent_view SET allocated = ?, kernels = ?, updated_at = ?, version = ?"
            " WHERE id = ?",
            (
                _json(total.to_json()),
                int(row[1]) + sign,
                meta.at,
                event.originator_version,
                meta.aggregate_id,
            ),
        )

    def _status(
        self, tx: Tx, event: DomainEvent, meta: EventMeta, status: str, reason: str
    ) -> None:
        tx.execute(
            "UPDATE agent_view SET status = ?, status_reason = ? WHERE id = ?",
            (status, reason, meta.aggregate_id),
        )
        self._touch(tx, event, meta)

    @staticmethod
    def _touch(tx: Tx, event: DomainEvent, meta: EventMeta) -> None:
        tx.execute(
            "UPDATE agent_view SET updated_at = ?, version = ? WHERE id = ?",
            (meta.at, event.originator_version, meta.aggregate_id),
        )
