"""Every read model Berth maintains, by name: the runner runs them all, the CLI rebuilds one."""

from __future__ import annotations

from collections.abc import Callable

from projections.agents import AgentView
from projections.base import Projection
from projections.resource_groups import ResourceGroupView
from projections.session_events import SessionEvents
from projections.sessions import SessionView
from projections.tenants import TenantView
from projections.usage import ResourceUsage

#: the group ``python -m projections`` runs: every read model, on one consumer
GROUP = "read-models"

PROJECTIONS: dict[str, Callable[[], Projection]] = {
    SessionView.name: SessionView,
    SessionEvents.name: SessionEvents,
    ResourceUsage.name: ResourceUsage,
    AgentView.name: AgentView,
    ResourceGroupView.name: ResourceGroupView,
    TenantView.name: TenantView,
}


class UnknownProjection(LookupError):
    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(PROJECTIONS))
        super().__init__(f"no read model named {name!r} (known: {known})")
        self.name = name


def projection_names() -> list[str]:
    return sorted(PROJECTIONS)


def create_projection(name: str) -> Projection:
    try:
        factory = PROJECTIONS[name]
    except KeyError:
        raise UnknownProjection(name) from None
    return factory()


def create_all() -> list[Projection]:
    return [create_projection(name) for name in projection_names()]
