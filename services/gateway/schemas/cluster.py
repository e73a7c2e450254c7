"""Bodies of ``/v1/images``, ``/v1/agents`` and ``/v1/resource-groups``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.gateway.schemas.common import Body, request_id_field
from services.manager.scheduler.agent_selection import AgentSelector
from services.manager.scheduler.queue_order import QueueOrder


class ImageOut(BaseModel):
    name: str
    kind: str | None
    language: str | None
    agents: int


class ImageList(BaseModel):
    items: list[ImageOut]


class AgentOut(BaseModel):
    id: str
    name: str
    resource_group: str
    architecture: str
    status: str
    status_reason: str
    capacity: dict[str, str]
    allocated: dict[str, str]
    images: list[str]
    simulated: bool
    version: str
    kernels: int
    registered_at: str
    updated_at: str


class AgentPage(BaseModel):
    items: list[AgentOut]
    next_cursor: str | None


class ResourceGroupOut(BaseModel):
    name: str
    queue_order: str
    agent_selector: str
    max_attempts: int
    pending_timeout: float | None
    agents: int
    schedulable_agents: int
    capacity: dict[str, str]
    pending: int
    created_at: str
    updated_at: str


class ResourceGroupList(BaseModel):
    items: list[ResourceGroupOut]


class ResourceGroupCreate(Body):
    name: str = Field(min_length=1, max_length=64)
    queue_order: QueueOrder = QueueOrder.FIFO
    agent_selector: AgentSelector = AgentSelector.CONCENTRATED
    max_attempts: int = Field(default=3, ge=1, le=1000)
    pending_timeout: float | None = Field(default=None, gt=0)
    request_id: str | None = request_id_field()


class ResourceGroupChange(Body):
    """Fields left out keep their current value."""

    queue_order: QueueOrder | None = None
    agent_selector: AgentSelector | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=1000)
    pending_timeout: float | None = Field(default=None, gt=0)
    request_id: str | None = request_id_field()
