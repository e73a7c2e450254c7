"""Resource usage summed per user, keypair, project, domain or resource group.

The ``usage`` read model keeps rows at the finest grain (keypair, project,
resource group); a summary adds up the rows the caller may see under the key of
the scope asked for. Amounts stay exact decimals until they are printed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from projections.usage import decimal_text
from services.gateway.graphql.reads import UsageRow


class Scope(Enum):
    USER = "user"
    KEYPAIR = "keypair"
    PROJECT = "project"
    DOMAIN = "domain"
    RESOURCE_GROUP = "resource_group"


def scope_key(row: UsageRow, scope: Scope) -> str:
    match scope:
        case Scope.USER:
            return row.user_id
        case Scope.KEYPAIR:
            return row.access_key
        case Scope.PROJECT:
            return f"{row.domain}/{row.project}"
        case Scope.DOMAIN:
            return row.domain
        case Scope.RESOURCE_GROUP:
            return row.resource_group


def _add(into: dict[str, Decimal], amounts: dict[str, str]) -> None:
    for slot, amount in amounts.items():
        into[slot] = into.get(slot, Decimal(0)) + Decimal(amount)


def printed(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {slot: decimal_text(amounts[slot]) for slot in sorted(amounts)}


@dataclass
class UsageSummary:
    key: str
    #: sessions holding kernels now
    sessions: set[str] = field(default_factory=set)
    #: kernels held now, and the slots they hold
    kernels: int = 0
    allocated: dict[str, Decimal] = field(default_factory=dict)
    #: kernels that have ended, how long they were held, and slot-seconds held
    ended_kernels: int = 0
    kernel_seconds: Decimal = Decimal(0)
    slot_seconds: dict[str, Decimal] = field(default_factory=dict)


def summarise(rows: Iterable[UsageRow], scope: Scope) -> list[UsageSummary]:
    by_key: dict[str, UsageSummary] = {}
    for row in rows:
        key = scope_key(row, scope)
        summary = by_key.setdefault(key, UsageSummary(key))
        if row.slots is not None:
            summary.kernels += 1
            if row.session_id is not None:
                summary.sessions.add(row.session_id)
            _add(summary.allocated, row.slots)
        else:
            summary.ended_kernels += row.kernels
            summary.kernel_seconds += Decimal(row.kernel_seconds)
            _add(summary.slot_seconds, row.slot_seconds or {})
    return [by_key[key] for key in sorted(by_key)]
