"""Typed results of the REST API: frozen msgspec Structs decoded straight from the bodies.

Fields a newer gateway adds are ignored, and fields an older one leaves out take
their defaults, so a client keeps working across small server changes. Resource
slots are decimal strings (``{"cpu": "1", "mem": "268435456"}``), as on the wire.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")

Slots = dict[str, str]


class SessionStatus(StrEnum):
    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"
    PREPARING = "PREPARING"
    RUNNING = "RUNNING"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


#: a session in one of these will not change again
TERMINAL_STATUSES = frozenset(
    {SessionStatus.TERMINATED, SessionStatus.ERROR, SessionStatus.CANCELLED}
)


class _Model(msgspec.Struct, frozen=True, kw_only=True):
    pass


class Page(_Model, Generic[T], frozen=True, kw_only=True):
    """One page of a listing; ``next_cursor`` asks for the next one (``None``: the last)."""

    items: list[T]
    next_cursor: str | None = None


class Kernel(_Model, frozen=True, kw_only=True):
    kernel_id: str
    agent_id: str
    index: int = 0


class Session(_Model, frozen=True, kw_only=True):
    id: str
    name: str
    status: str
    status_reason: str = ""
    owner_access_key: str = ""
    user_id: str = ""
    project: str = ""
    domain: str = ""
    resource_group: str = ""
    image: str = ""
    session_type: str = "interactive"
    cluster_size: int = 1
    resources: Slots = msgspec.field(default_factory=dict)
    agents: list[str] = msgspec.field(default_factory=list)
    kernels: list[Kernel] = msgspec.field(default_factory=list)
    exit_code: int | None = None
    #: ``success`` or ``failure`` once a batch session has ended; ``""`` before
    result: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL_STATUSES


class SessionAccepted(_Model, frozen=True, kw_only=True):
    """The answer to a create or a destroy: the decision is stored, with this status."""

    session_id: str
    status: str
    #: the same ``request_id`` was sent before: this is the session it made then
    duplicate: bool = False


class CommandDone(_Model, frozen=True, kw_only=True):
    """An administrative change the manager decided, with what it reports about it."""

    data: dict[str, str] = msgspec.field(default_factory=dict)
    #: a repeated request (same ``request_id``): nothing new was decided
    duplicate: bool = False


class UserChanged(_Model, frozen=True, kw_only=True):
    username: str
    #: the fields that changed (``role``, ``policy``, ``active``); one already so is not listed
    changed: list[str] = msgspec.field(default_factory=list)


class StatusChange(_Model, frozen=True, kw_only=True):
    status: str
    reason: str = ""
    at: datetime | None = None


class LogChunk(_Model, frozen=True, kw_only=True):
    data: str
    #: where the next read starts (a byte offset into the session's output)
    next_offset: int


class ExecResult(_Model, frozen=True, kw_only=True):
    exit_code: int | None = None
    output: str = ""
    #: the output was cut at the agent's limit
    truncated: bool = False


class KernelUsage(_Model, frozen=True, kw_only=True):
    """The latest utilisation an agent reported for one of a session's containers."""

    kernel_id: str
    agent_id: str = ""
    index: int = 0
    observed_at: datetime | None = None
    #: percent of one CPU (200.0: two CPUs busy)
    cpu_percent: float = 0.0
    mem_bytes: int = 0
    mem_limit_bytes: int = 0
    #: per device, e.g. ``{"cuda:0": {"util_percent": 93.0, "mem_bytes": 1.2e9}}``
    accelerators: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)


class Image(_Model, frozen=True, kw_only=True):
    name: str
    kind: str | None = None
    language: str | None = None
    #: how many agents hold it
    agents: int = 0


class Agent(_Model, frozen=True, kw_only=True):
    id: str
    name: str = ""
    resource_group: str = ""
    architecture: str = ""
    status: str = ""
    status_reason: str = ""
    capacity: Slots = msgspec.field(default_factory=dict)
    allocated: Slots = msgspec.field(default_factory=dict)
    images: list[str] = msgspec.field(default_factory=list)
    #: registered as simulated: runs no containers
    simulated: bool = False
    version: str = ""
    #: containers it runs now
    kernels: int = 0
    registered_at: datetime | None = None
    updated_at: datetime | None = None


class ResourceGroup(_Model, frozen=True, kw_only=True):
    name: str
    queue_order: str = ""
    agent_selector: str = ""
    max_attempts: int | None = None
    pending_timeout: float | None = None
    agents: int = 0
    schedulable_agents: int = 0
    capacity: Slots = msgspec.field(default_factory=dict)
    #: sessions waiting in its queue
    pending: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Domain(_Model, frozen=True, kw_only=True):
    name: str
    description: str = ""
    created_at: datetime | None = None


class Project(_Model, frozen=True, kw_only=True):
    name: str
    domain: str = ""
    policy: str = ""
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


class User(_Model, frozen=True, kw_only=True):
    username: str
    id: str = ""
    domain: str = ""
    email: str = ""
    role: str = ""
    policy: str = ""
    projects: list[str] = msgspec.field(default_factory=list)
    active: bool = True
    status_reason: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Keypair(_Model, frozen=True, kw_only=True):
    access_key: str
    username: str = ""
    user_id: str = ""
    domain: str = ""
    policy: str = ""
    active: bool = True
    status_reason: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    #: only in the answer that issued the keypair: Berth never shows it again (and not
    #: when a repeated request found the keypair it had issued before)
    secret_key: str | None = None


class PolicyLimits(_Model, frozen=True, kw_only=True, omit_defaults=True):
    """What a resource policy allows; ``None`` (or a slot left out) means unlimited."""

    total_resource_slots: Slots = msgspec.field(default_factory=dict)
    max_concurrent_sessions: int | None = None
    max_pending_sessions: int | None = None
    max_pending_slots: Slots = msgspec.field(default_factory=dict)
    #: seconds from start until a session is terminated
    max_session_lifetime: int | None = None
    #: seconds of inactivity until an interactive session is terminated
    idle_timeout: int | None = None
    #: resource group names; empty means every group
    allowed_resource_groups: list[str] = msgspec.field(default_factory=list)


class Policy(_Model, frozen=True, kw_only=True):
    name: str
    limits: PolicyLimits = msgspec.field(default_factory=PolicyLimits)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class WhoAmI(_Model, frozen=True, kw_only=True):
    access_key: str
    username: str
    role: str
    user_id: str = ""
    domain: str = ""
    projects: list[str] = msgspec.field(default_factory=list)


class Token(_Model, frozen=True, kw_only=True):
    token: str
    expires_at: datetime | None = None


class Mount(_Model, frozen=True, kw_only=True):
    source: str
    target: str
    read_only: bool = False


class SessionSpec(_Model, frozen=True, kw_only=True, omit_defaults=True):
    """What to ask for in ``POST /v1/sessions``; what is left out, the gateway decides.

    ``resources`` per kernel, units allowed (``{"cpu": "1", "mem": "256m"}``).
    ``request_id`` makes the request idempotent: the client fills in a fresh one
    when it is left out, so a retried request never makes a second session.
    """

    name: str
    image: str
    session_type: str | None = None
    architecture: str | None = None
    resources: dict[str, str] = msgspec.field(default_factory=dict)
    cluster_size: int | None = None
    environ: dict[str, str] = msgspec.field(default_factory=dict)
    mounts: list[Mount] = msgspec.field(default_factory=list)
    startup_command: str | None = None
    #: seconds a batch session may run
    batch_timeout: float | None = None
    priority: int | None = None
    depends_on: list[str] = msgspec.field(default_factory=list)
    starts_at: datetime | None = None
    resource_group: str | None = None
    project: str | None = None
    designated_agent: str | None = None
    requeue_on_agent_loss: bool | None = None
    request_id: str | None = None


class ResourceGroupSpec(_Model, frozen=True, kw_only=True, omit_defaults=True):
    """A resource group's scheduling policy: for a new group, what is left out takes the
    gateway's default; for a change, what is left out stays as it is."""

    queue_order: str | None = None
    agent_selector: str | None = None
    max_attempts: int | None = None
    pending_timeout: float | None = None
