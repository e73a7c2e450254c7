"""Agents, the images they hold, and resource groups: what every signed-in user may read."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from projections.agents import ALIVE, DECOMMISSIONED
from projections.queries.base import Keyset, Page, Reader, Row, Where, read_page

_AGENT_COLUMNS = (
    "id, name, resource_group, architecture, status, status_reason, capacity, allocated,"
    " images, simulated, agent_version, kernels, registered_at, updated_at"
)
_GROUP_COLUMNS = (
    "name, queue_order, agent_selector, max_attempts, pending_timeout, agents,"
    " schedulable_agents, capacity, pending, created_at, updated_at"
)


@dataclass(frozen=True)
class AgentRow:
    id: str
    name: str
    resource_group: str
    architecture: str
    #: ALIVE, LOST or DECOMMISSIONED
    status: str
    status_reason: str
    capacity: dict[str, str]
    #: what the kernels assigned to it hold now
    allocated: dict[str, str]
    images: list[str]
    simulated: bool
    version: str
    #: how many kernels are assigned to it now
    kernels: int
    registered_at: str
    updated_at: str


@dataclass(frozen=True)
class ImageRow:
    name: str
    #: from the image's labels, when agents report them (``None`` when unknown)
    kind: str | None
    language: str | None
    #: how many live agents hold it
    agents: int


@dataclass(frozen=True)
class ResourceGroupRow:
    name: str
    queue_order: str
    agent_selector: str
    max_attempts: int
    pending_timeout: float | None
    agents: int
    schedulable_agents: int
    #: the total capacity of its schedulable agents
    capacity: dict[str, str]
    pending: int
    created_at: str
    updated_at: str


def _agent(r: Row) -> AgentRow:
    return AgentRow(
        id=r[0],
        name=r[1],
        resource_group=r[2],
        architecture=r[3],
        status=r[4],
        status_reason=r[5],
        capacity=json.loads(r[6]),
        allocated=json.loads(r[7]),
        images=json.loads(r[8]),
        simulated=bool(r[9]),
        version=r[10],
        kernels=int(r[11]),
        registered_at=r[12],
        updated_at=r[13],
    )


def list_agents(
    conn: Reader,
    *,
    resource_group: str | None = None,
    statuses: Sequence[str] | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page[AgentRow]:
    """By name."""
    where = Where()
    where.equal("resource_group", resource_group)
    where.one_of("status", [s.upper() for s in statuses or ()])
    select = f"SELECT {_AGENT_COLUMNS} FROM agent_view"
    return read_page(conn, select, where, _BY_NAME, _agents, limit=limit, cursor=cursor)


def _agents(rows: list[Row]) -> list[AgentRow]:
    return [_agent(r) for r in rows]


_BY_NAME: Keyset[AgentRow] = Keyset(("name", "id"), lambda a: (a.name, a.id))


def get_agent(conn: Reader, agent_id: str) -> AgentRow | None:
    row = conn.fetchone(f"SELECT {_AGENT_COLUMNS} FROM agent_view WHERE id = ?", [agent_id])
    return _agent(row) if row else None


def list_images(conn: Reader) -> list[ImageRow]:
    """Every image some agent that is not decommissioned holds, by name."""
    rows = conn.fetchall(
        "SELECT images, status FROM agent_view WHERE status <> ?", [DECOMMISSIONED]
    )
    alive: dict[str, int] = {}
    for images, status in rows:
        for image in json.loads(images):
            alive[image] = alive.get(image, 0) + (1 if status == ALIVE else 0)
    return [
        ImageRow(name=name, kind=None, language=None, agents=count)
        for name, count in sorted(alive.items())
    ]


def _group(r: Row) -> ResourceGroupRow:
    return ResourceGroupRow(
        name=r[0],
        queue_order=r[1],
        agent_selector=r[2],
        max_attempts=int(r[3]),
        pending_timeout=None if r[4] is None else float(r[4]),
        agents=int(r[5]),
        schedulable_agents=int(r[6]),
        capacity=json.loads(r[7]),
        pending=int(r[8]),
        created_at=r[9],
        updated_at=r[10],
    )


def list_resource_groups(conn: Reader) -> list[ResourceGroupRow]:
    rows = conn.fetchall(f"SELECT {_GROUP_COLUMNS} FROM rgroup_view ORDER BY name")
    return [_group(r) for r in rows]


def get_resource_group(conn: Reader, name: str) -> ResourceGroupRow | None:
    row = conn.fetchone(f"SELECT {_GROUP_COLUMNS} FROM rgroup_view WHERE name = ?", [name])
    return _group(row) if row else None
