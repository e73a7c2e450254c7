"""Resource policy limits as people write them (units allowed) into the manager's form."""

from __future__ import annotations

from events.tenant import PolicyLimits
from services.gateway.errors import ApiError
from services.gateway.schemas.admin import Limits
from services.manager.scheduler.slots import ResourceSlots, SlotError


def _amount(slot: str, value: str | int | float) -> str:
    """The slot's own parser: units as in session requests, no exponents, nothing unbounded."""
    try:
        parsed = ResourceSlots.parse({slot: value})
    except SlotError as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    # Zero is meaningful in a policy (it forbids the slot), and parse leaves it out.
    return parsed.to_json().get(slot, "0")


def _slots(slots: dict[str, str | int | float]) -> dict[str, str]:
    return {slot: _amount(slot, value) for slot, value in slots.items()}


def policy_limits(limits: Limits) -> PolicyLimits:
    return PolicyLimits(
        total_resource_slots=_slots(limits.total_resource_slots),
        max_concurrent_sessions=limits.max_concurrent_sessions,
        max_pending_sessions=limits.max_pending_sessions,
        max_pending_slots=_slots(limits.max_pending_slots),
        max_session_lifetime=limits.max_session_lifetime,
        idle_timeout=limits.idle_timeout,
        allowed_resource_groups=list(limits.allowed_resource_groups),
    )
