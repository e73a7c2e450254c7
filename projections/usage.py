"""``ResourceUsage``: which slots each owner holds now, and how much they have held in total.

An allocation starts when a kernel is assigned to an agent (``KernelAssigned``,
with the kernel's exact slots) and ends when the agent's slots are free again
(``KernelReleased``); the owner comes from the session's ``SessionRequested``.
Live allocations sit in ``usage_allocation``; each one that ends adds its
slot-seconds (amount times seconds held) and its kernel-seconds to the owner's row
in ``usage_total``.

Rows are kept at the finest grain (access key, project, resource group), so a
reader can sum them per user, keypair, project, domain or resource group, and
narrow them to what the caller may see, without a table per scope.
Amounts are decimal strings: slot values are exact (``0.5`` CPU, bytes of memory).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from events.agent import KernelAssigned, KernelReleased
from events.session import SessionRequested
from projections.base import EventMeta, Projection, handles
from projections.json_text import json_text
from projections.read_store import Tx

#: the owner columns every usage row carries, finest grain first
OWNER_COLUMNS = ("access_key", "user_id", "project", "domain", "resource_group")


def decimal_text(value: Decimal) -> str:
    """A plain decimal string (no exponent), trailing zeros dropped."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def held_seconds(since: str, until: datetime) -> Decimal:
    seconds = (until - datetime.fromisoformat(since)).total_seconds()
    return Decimal(str(round(max(seconds, 0.0), 6)))


class ResourceUsage(Projection):
    name: ClassVar[str] = "usage"
    tables: ClassVar[dict[str, str]] = {
        "usage_owner": "session_id",
        "usage_allocation": "kernel_id",
        "usage_total": "access_key, project, domain, resource_group",
    }

    def ddl(self, dialect: str) -> list[str]:
        owner = ", ".join(f"{column} TEXT NOT NULL" for column in OWNER_COLUMNS)
        return [
            f"CREATE TABLE IF NOT EXISTS usage_owner (session_id TEXT PRIMARY KEY, {owner})",
            "CREATE TABLE IF NOT EXISTS usage_allocation ("
            " kernel_id TEXT PRIMARY KEY,"
            " session_id TEXT NOT NULL,"
            " agent_id TEXT NOT NULL,"
            " slots TEXT NOT NULL,"
            " since TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS usage_allocation_session ON usage_allocation (session_id)",
            f"CREATE TABLE IF NOT EXISTS usage_total ({owner},"
            " kernels BIGINT NOT NULL,"
            " kernel_seconds TEXT NOT NULL,"
            " slot_seconds TEXT NOT NULL,"
            " PRIMARY KEY (access_key, project, domain, resource_group))",
        ]

    @handles(SessionRequested)
    def _requested(self, tx: Tx, event: SessionRequested, meta: EventMeta) -> None:
        tx.execute(
            "INSERT INTO usage_owner (session_id, access_key, user_id, project, domain,"
            " resource_group) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (session_id) DO NOTHING",
            (
                meta.aggregate_id,
                event.access_key,
                event.user_id,
                event.project,
                event.domain,
                event.resource_group,
            ),
        )

    @handles(KernelAssigned)
    def _assigned(self, tx: Tx, event: KernelAssigned, meta: EventMeta) -> None:
        tx.execute(
            "INSERT INTO usage_allocation (kernel_id, session_id, agent_id, slots, since)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kernel_id) DO NOTHING",
            (
                str(event.kernel_id),
                str(event.session_id),
                meta.aggregate_id,
                json_text(event.slots),
                meta.at,
            ),
        )

    @handles(KernelReleased)
    def _released(self, tx: Tx, event: KernelReleased, meta: EventMeta) -> None:
        kernel_id, at = str(event.kernel_id), event.timestamp
        row = tx.fetchone(
            "SELECT a.slots, a.since, o.access_key, o.user_id, o.project, o.domain,"
            " o.resource_group FROM usage_allocation a"
            " JOIN usage_owner o ON o.session_id = a.session_id WHERE a.kernel_id = ?",
            (kernel_id,),
        )
        tx.execute("DELETE FROM usage_allocation WHERE kernel_id = ?", (kernel_id,))
        if row is None:
            return  # never assigned as far as this model knows: nothing was held
        slots: dict[str, str] = json.loads(row[0])
        seconds = held_seconds(row[1], at)
        owner = tuple(row[2:])
        total = tx.fetchone(
            "SELECT kernels, kernel_seconds, slot_seconds FROM usage_total"
            " WHERE access_key = ? AND project = ? AND domain = ? AND resource_group = ?",
            (owner[0], owner[2], owner[3], owner[4]),
        )
        kernels, kernel_seconds, slot_seconds = (
            (int(total[0]), Decimal(total[1]), json.loads(total[2]))
            if total
            else (0, Decimal(0), {})
        )
        for slot, amount in slots.items():
            held = Decimal(slot_seconds.get(slot, "0")) + Decimal(amount) * seconds
            slot_seconds[slot] = decimal_text(held)
        tx.execute(
            "INSERT INTO usage_total (access_key, user_id, project, domain, resource_group,"
            " kernels, kernel_seconds, slot_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (access_key, project, domain, resource_group) DO UPDATE SET"
            " kernels = excluded.kernels, kernel_seconds = excluded.kernel_seconds,"
            " slot_seconds = excluded.slot_seconds",
            (
                *owner,
                kernels + 1,
                decimal_text(kernel_seconds + seconds),
                json_text(slot_seconds),
            ),
        )
