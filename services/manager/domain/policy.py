"""Resource policies: named limits assigned to keypairs, users and projects.

A request is bound by three policies at once — its keypair's, its user's and its
project's — and the rule that combines them is :func:`strictest`: for every
limit the smallest value any of the three sets wins, a limit none of them sets
stays unlimited, and the allowed resource groups are those every policy that
names any allows. So no assignment at one level can loosen a limit set at
another: a project capped at 8 CPUs stays capped for an unlimited user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import ClassVar
from uuid import UUID, uuid5

from events.base import DomainEvent
from events.tenant import PolicyLimits, ResourcePolicyChanged, ResourcePolicyDefined
from services.manager.domain.aggregate import Aggregate

POLICY_NAMESPACE = UUID("0d6f7c52-8f0e-4a4c-9b1e-5a7d3c2e9f41")

SLOT_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")
GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_SLOTS = 32
MAX_GROUPS = 256


class PolicyError(ValueError):
    """Limits that are not well-formed (a negative slot, an unknown unit…)."""


@lru_cache(maxsize=4096)
def policy_id_for(name: str) -> UUID:
    """Deterministic, so defining an existing policy collides in the store."""
    return uuid5(POLICY_NAMESPACE, name)


@dataclass(frozen=True)
class Limits:
    """One policy's limits, decoded for arithmetic. ``None`` means unlimited."""

    total_slots: Mapping[str, Decimal] = field(default_factory=dict)
    max_concurrent_sessions: int | None = None
    max_pending_sessions: int | None = None
    max_pending_slots: Mapping[str, Decimal] = field(default_factory=dict)
    max_session_lifetime: int | None = None
    idle_timeout: int | None = None
    #: ``None``: every resource group; an empty set: none at all (two
    #: policies that each allow different groups leave nothing in common)
    allowed_resource_groups: frozenset[str] | None = None

    @classmethod
    def from_policy(cls, limits: PolicyLimits) -> Limits:
        return cls(
            total_slots={k: Decimal(v) for k, v in limits.total_resource_slots.items()},
            max_concurrent_sessions=limits.max_concurrent_sessions,
            max_pending_sessions=limits.max_pending_sessions,
            max_pending_slots={k: Decimal(v) for k, v in limits.max_pending_slots.items()},
            max_session_lifetime=limits.max_session_lifetime,
            idle_timeout=limits.idle_timeout,
            allowed_resource_groups=(
                frozenset(limits.allowed_resource_groups)
                if limits.allowed_resource_groups
                else None
            ),
        )

    def allows_resource_group(self, name: str) -> bool:
        return self.allowed_resource_groups is None or name in self.allowed_resource_groups


def _min_optional(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _min_slots(slot_maps: Iterable[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    merged: dict[str, Decimal] = {}
    for slots in slot_maps:
        for slot, amount in slots.items():
            merged[slot] = min(amount, merged.get(slot, amount))
    return merged


def strictest(*limits: Limits) -> Limits:
    """Combine policies so that each limit is the tightest any of them sets."""
    groups: frozenset[str] | None = None
    for one in limits:
        if one.allowed_resource_groups is not None:
            groups = (
                one.allowed_resource_groups
                if groups is None
                else groups & one.allowed_resource_groups
            )
    return Limits(
        total_slots=_min_slots(one.total_slots for one in limits),
        max_concurrent_sessions=_min_optional(one.max_concurrent_sessions for one in limits),
        max_pending_sessions=_min_optional(one.max_pending_sessions for one in limits),
        max_pending_slots=_min_slots(one.max_pending_slots for one in limits),
        max_session_lifetime=_min_optional(one.max_session_lifetime for one in limits),
        idle_timeout=_min_optional(one.idle_timeout for one in limits),
        allowed_resource_groups=groups,
    )


#: the most digits a limit may have before or after the decimal point
MAX_DIGITS = 30


def _normalise_slots(what: str, slots: dict[str, str]) -> dict[str, str]:
    if len(slots) > MAX_SLOTS:
        raise PolicyError(f"{what}: at most {MAX_SLOTS} slots")
    normalised: dict[str, str] = {}
    for slot, amount in slots.items():
        if not SLOT_RE.match(slot):
            raise PolicyError(f"{what}: malformed slot name {slot!r}")
        try:
            value = Decimal(amount)
        except (InvalidOperation, TypeError):
            raise PolicyError(f"{what}: slot {slot!r}: {amount!r} is not a number") from None
        # Zero is meaningful: it forbids a slot (no GPUs for this project).
        if not value.is_finite() or value < 0:
            raise PolicyError(f"{what}: slot {slot!r} must be zero or more")
        # Bounded before it is written out in fixed point: "1e999999999" would be a
        # billion digits.
        if value.adjusted() > MAX_DIGITS or value.as_tuple().exponent < -MAX_DIGITS:  # type: ignore[operator]
            raise PolicyError(f"{what}: slot {slot!r}: {amount!r} is out of range")
        # Fixed-point, so "10" stays "10" and never becomes "1E+1".
        normalised[slot] = format(value.normalize(), "f")
    return normalised


def _check_count(what: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise PolicyError(f"{what} must be zero or more (or absent for unlimited)")


def validated(limits: PolicyLimits) -> PolicyLimits:
    """The same limits with slot amounts normalised, or :class:`PolicyError`."""
    _check_count("max_concurrent_sessions", limits.max_concurrent_sessions)
    _check_count("max_pending_sessions", limits.max_pending_sessions)
    for what, seconds in (
        ("max_session_lifetime", limits.max_session_lifetime),
        ("idle_timeout", limits.idle_timeout),
    ):
        # Zero seconds would end every session at once: absent means "no limit".
        if seconds is not None and seconds <= 0:
            raise PolicyError(f"{what} must be a positive number of seconds, or absent")
    groups = limits.allowed_resource_groups
    if len(groups) > MAX_GROUPS:
        raise PolicyError(f"allowed_resource_groups: at most {MAX_GROUPS} names")
    for name in groups:
        if not GROUP_RE.match(name):
            raise PolicyError(f"allowed_resource_groups: malformed name {name!r}")
    return PolicyLimits(
        total_resource_slots=_normalise_slots("total_resource_slots", limits.total_resource_slots),
        max_concurrent_sessions=limits.max_concurrent_sessions,
        max_pending_sessions=limits.max_pending_sessions,
        max_pending_slots=_normalise_slots("max_pending_slots", limits.max_pending_slots),
        max_session_lifetime=limits.max_session_lifetime,
        idle_timeout=limits.idle_timeout,
        allowed_resource_groups=sorted(set(groups)),
    )


class ResourcePolicy(Aggregate):
    kind: ClassVar[str] = "rpolicy"

    def _init_state(self) -> None:
        self.name = ""
        self.limits = PolicyLimits()
        self.request_id = ""

    @classmethod
    def define(
        cls, *, name: str, limits: PolicyLimits, request_id: str, at: datetime
    ) -> ResourcePolicy:
        checked = validated(limits)
        policy = cls(policy_id_for(name))
        policy._init_state()
        policy._record(ResourcePolicyDefined, at, name=name, limits=checked, request_id=request_id)
        return policy

    def change(self, limits: PolicyLimits, at: datetime) -> bool:
        """Replace the limits; ``False`` (and no event) when nothing would change."""
        checked = validated(limits)
        if checked == self.limits:
            return False
        self._record(ResourcePolicyChanged, at, limits=checked)
        return True

    @property
    def decoded(self) -> Limits:
        return Limits.from_policy(self.limits)

    def apply(self, event: DomainEvent) -> None:
        match event:
            case ResourcePolicyDefined():
                self.name = event.name
                self.limits = event.limits
                self.request_id = event.request_id
            case ResourcePolicyChanged():
                self.limits = event.limits
            case _:
                raise TypeError(f"ResourcePolicy cannot apply {type(event).__name__}")
