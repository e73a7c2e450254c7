"""Quotas that depend on what is in use now: counted across resource groups.

Each of a request's three scopes (its keypair, its user, its project) is bound by
that scope's own policy (see :class:`~services.manager.directory.EffectiveLimits`).
Pending limits are checked when a request arrives (a refusal writes nothing);
concurrency and total-slot limits are checked by each scheduling round, which
skips — never blocks on — a session over its limits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from services.manager.directory import Directory, DirectoryLookupError, EffectiveLimits
from services.manager.domain.resource_group import ResourceGroup, usage_keys
from services.manager.handlers import CommandRefused
from services.manager.scheduler.model import OwnerUsage, PendingSession
from services.manager.scheduler.slots import ResourceSlots


def _usage(groups: Iterable[ResourceGroup], scope: str, owner: str) -> OwnerUsage:
    total = OwnerUsage()
    for group in groups:
        usage = group.usage_of(scope, owner)
        total.allocated = total.allocated + usage.allocated
        total.running_sessions += usage.running_sessions
        total.pending_sessions += usage.pending_sessions
        total.pending_slots = total.pending_slots + usage.pending_slots
    return total


class QuotaLedger:
    def __init__(self, directory: Directory, groups: Callable[[], Iterable[ResourceGroup]]) -> None:
        self._directory = directory
        self._groups = groups

    def check_pending(self, limits: EffectiveLimits, total: ResourceSlots) -> None:
        """Refuse a request that would exceed a pending-sessions or pending-slots limit."""
        groups: list[ResourceGroup] | None = None
        for scoped in limits.scopes:
            cap = scoped.limits.max_pending_sessions
            if cap is None and not scoped.limits.max_pending_slots:
                continue  # nothing to count against
            if groups is None:
                groups = list(self._groups())
            usage = _usage(groups, scoped.scope, scoped.owner)
            if cap is not None and usage.pending_sessions + 1 > cap:
                raise CommandRefused(
                    "quota-exceeded",
                    f"{scoped.scope} already has {usage.pending_sessions} pending sessions "
                    f"(max_pending_sessions {cap} in policy {scoped.policy!r})",
                )
            for slot, amount in scoped.limits.max_pending_slots.items():
                if usage.pending_slots[slot] + total[slot] > amount:
                    raise CommandRefused(
                        "quota-exceeded",
                        f"{scoped.scope} would have more than {amount} {slot} pending "
                        f"(max_pending_slots in policy {scoped.policy!r})",
                    )

    def round_gate(self) -> RoundQuotaGate:
        return RoundQuotaGate(self._directory, list(self._groups()))


@dataclass
class RoundQuotaGate:
    """Concurrency and total-slot limits for one round, charged as sessions are placed."""

    directory: Directory
    groups: list[ResourceGroup]
    _limits: dict[tuple[str, str], EffectiveLimits | str] = field(default_factory=dict)
    _usage: dict[tuple[str, str], OwnerUsage] = field(default_factory=dict)

    def _limits_for(self, session: PendingSession) -> EffectiveLimits | str:
        key = (session.access_key, session.project)
        found = self._limits.get(key)
        if found is None:
            principal = self.directory.resolve(session.access_key)
            if principal is None:
                found = "its access key was revoked or its user deactivated"
            else:
                try:
                    found = self.directory.limits(principal, session.project)
                except DirectoryLookupError as exc:
                    found = str(exc)
            self._limits[key] = found
        return found

    def _usage_of(self, scope: str, owner: str) -> OwnerUsage:
        usage = self._usage.get((scope, owner))
        if usage is None:
            usage = self._usage[(scope, owner)] = _usage(self.groups, scope, owner)
        return usage

    def refusal(self, session: PendingSession) -> str | None:
        limits = self._limits_for(session)
        if isinstance(limits, str):
            return limits
        total = session.total
        for scoped in limits.scopes:
            cap = scoped.limits.max_concurrent_sessions
            if cap is None and not scoped.limits.total_slots:
                continue  # nothing to count against
            usage = self._usage_of(scoped.scope, scoped.owner)
            if cap is not None and usage.running_sessions + 1 > cap:
                return (
                    f"{scoped.scope} already runs {usage.running_sessions} sessions "
                    f"(max_concurrent_sessions {cap} in policy {scoped.policy!r})"
                )
            for slot, amount in scoped.limits.total_slots.items():
                if usage.allocated[slot] + total[slot] > amount:
                    return (
                        f"{scoped.scope} would hold more than {amount} {slot} "
                        f"(total_resource_slots in policy {scoped.policy!r})"
                    )
        return None

    def charge(self, session: PendingSession) -> None:
        for scope, owner in usage_keys(session):
            usage = self._usage_of(scope, owner)
            usage.allocated = usage.allocated + session.total
            usage.running_sessions += 1
