"""Bodies of ``/v1/sessions``."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from services.gateway.schemas.common import Body, request_id_field

Scalar = str | int | float


class MountIn(Body):
    source: str = Field(min_length=1, max_length=1024)
    target: str = Field(min_length=1, max_length=1024)
    read_only: bool = False


class SessionCreate(Body):
    name: str = Field(min_length=1, max_length=64)
    image: str = Field(min_length=1, max_length=256)
    session_type: Literal["interactive", "batch"] = "interactive"
    architecture: str = Field(default="x86_64", min_length=1, max_length=32)
    #: per kernel; units allowed (``"mem": "256m"``)
    resources: dict[str, Scalar] = Field(default_factory=dict, max_length=64)
    cluster_size: int = Field(default=1, ge=1, le=64)
    environ: dict[str, str] = Field(default_factory=dict, max_length=256)
    mounts: list[MountIn] = Field(default_factory=list, max_length=32)
    startup_command: str | None = Field(default=None, max_length=8192)
    batch_timeout: float | None = Field(default=None, gt=0)
    priority: int = Field(default=0, ge=-100, le=100)
    depends_on: list[str] = Field(default_factory=list, max_length=32)
    starts_at: AwareDatetime | None = None
    resource_group: str = Field(default="default", min_length=1, max_length=64)
    project: str = Field(default="default", min_length=1, max_length=64)
    designated_agent: str | None = Field(default=None, min_length=1, max_length=64)
    requeue_on_agent_loss: bool = False
    request_id: str | None = request_id_field()


class SessionAccepted(BaseModel):
    session_id: str
    status: str
    #: the same ``request_id`` was sent before: this is the session it made then
    duplicate: bool = False


class KernelOut(BaseModel):
    kernel_id: str
    agent_id: str
    index: int


class SessionOut(BaseModel):
    id: str
    name: str
    owner_access_key: str
    user_id: str
    project: str
    domain: str
    resource_group: str
    image: str
    session_type: str
    cluster_size: int
    status: str
    status_reason: str
    resources: dict[str, str]
    agents: list[str]
    kernels: list[KernelOut]
    exit_code: int | None
    result: str
    created_at: str
    updated_at: str


class SessionPage(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None


class StatusChangeOut(BaseModel):
    status: str
    reason: str
    at: str


class SessionHistory(BaseModel):
    items: list[StatusChangeOut]


class ExecIn(Body):
    command: list[str] = Field(min_length=1, max_length=256)
    timeout: float = Field(default=30.0, gt=0, le=600)
    environ: dict[str, str] = Field(default_factory=dict, max_length=64)


class ExecOut(BaseModel):
    exit_code: int | None
    output: str
    truncated: bool


class KernelUsageOut(BaseModel):
    kernel_id: str
    agent_id: str
    index: int
    observed_at: str
    cpu_percent: float
    mem_bytes: int
    mem_limit_bytes: int
    accelerators: dict[str, dict[str, float]]


class SessionTelemetry(BaseModel):
    #: one entry per kernel that an agent reported on recently (none while it is not running)
    items: list[KernelUsageOut]
