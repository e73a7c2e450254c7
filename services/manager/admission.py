"""The tenant side of admitting a session request: may this owner ever have it, here?

These refusals hold whatever the cluster is doing, so they are decided when the
request arrives and the request writes nothing: an unknown or revoked access
key, a project the owner is not a member of, a resource group the owner's
policies do not allow, or more of a slot than the owner's policies allow in
total. What depends on current usage (how many sessions run now, how much is
pending) is the scheduler's to count, against the same :class:`EffectiveLimits`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from services.manager.directory import (
    Directory,
    DirectoryLookupError,
    EffectiveLimits,
    Principal,
    ScopedLimits,
)
from services.manager.handlers import CommandRefused


@dataclass(frozen=True)
class Admission:
    principal: Principal
    limits: EffectiveLimits


def _binding(limits: EffectiveLimits, slot: str) -> ScopedLimits | None:
    """The scope whose policy sets the tightest total for ``slot``, to name in a refusal."""
    bounded = [s for s in limits.scopes if slot in s.limits.total_slots]
    return min(bounded, key=lambda s: s.limits.total_slots[slot], default=None)


def admit_session(
    directory: Directory,
    *,
    access_key: str,
    project: str,
    resource_group: str,
    slots: Mapping[str, Decimal],
) -> Admission:
    """The owner and their limits, or :class:`CommandRefused` with a precise code.

    ``slots`` is the whole session's request (every kernel of a cluster session).
    """
    principal = directory.resolve(access_key) if access_key else None
    if principal is None:
        raise CommandRefused(
            "unauthenticated",
            f"access key {access_key!r} is unknown, revoked, or belongs to a deactivated user",
        )
    try:
        limits = directory.limits(principal, project)
    except DirectoryLookupError as exc:
        raise CommandRefused(exc.code, str(exc)) from None
    if not limits.allows_resource_group(resource_group):
        raise CommandRefused(
            "resource-group-not-allowed",
            f"{principal.username!r} may not use resource group {resource_group!r} "
            f"in project {project!r}",
        )
    for count, what in (
        (limits.max_concurrent_sessions, "max_concurrent_sessions"),
        (limits.max_pending_sessions, "max_pending_sessions"),
    ):
        if count == 0:
            raise CommandRefused("quota-exceeded", f"the owner's {what} is 0: no sessions at all")
    for slot, amount in sorted(slots.items()):
        allowed = limits.total_slots.get(slot)
        if allowed is not None and amount > allowed:
            binding = _binding(limits, slot)
            by = f" by the {binding.scope} policy {binding.policy!r}" if binding else ""
            raise CommandRefused(
                "quota-exceeded",
                f"asks for {slot} {amount}, but at most {allowed} is allowed{by}",
            )
        pending = limits.max_pending_slots.get(slot)
        if pending is not None and amount > pending:
            raise CommandRefused(
                "quota-exceeded",
                f"asks for {slot} {amount}, but at most {pending} may be pending",
            )
    return Admission(principal=principal, limits=limits)
