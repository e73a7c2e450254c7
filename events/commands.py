"""Commands about sessions, agents and resource groups, and the reply every command gets.

A command names what the caller wants; the manager decides and answers with a
:class:`CommandReply`. Each carries the client's ``request_id``: a repeated
command with the same id is answered with the first outcome and decides nothing.
``actor`` is the caller's access key (the gateway proves the caller holds it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from events.base import Command

SessionType = Literal["interactive", "batch"]
Scalar = str | int | float

REQUEST_SESSION = "session.request"
DESTROY_SESSION = "session.destroy"
REGISTER_AGENT = "agent.register"
CREATE_RESOURCE_GROUP = "rgroup.create"
CHANGE_RESOURCE_GROUP = "rgroup.change-policy"


class MountRequest(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    target: str
    read_only: bool = False


class RequestSession(Command, frozen=True, kw_only=True):
    actor: str
    project: str = "default"
    name: str
    session_type: SessionType = "interactive"
    image: str
    architecture: str = "x86_64"
    #: per kernel; units allowed (``mem: "4g"``, ``cpu: "500m"``)
    resources: dict[str, Scalar] = msgspec.field(default_factory=dict)
    cluster_size: int = 1
    environ: dict[str, str] = msgspec.field(default_factory=dict)
    mounts: list[MountRequest] = msgspec.field(default_factory=list)
    startup_command: str | None = None
    batch_timeout: float | None = None
    priority: int = 0
    depends_on: list[str] = msgspec.field(default_factory=list)
    starts_at: datetime | None = None
    resource_group: str = "default"
    designated_agent: str | None = None
    requeue_on_agent_loss: bool = False


class DestroySession(Command, frozen=True, kw_only=True):
    actor: str
    session_id: str
    reason: str = "destroyed by its owner"


class RegisterAgent(Command, frozen=True, kw_only=True):
    """Sent by an agent at start (and again when its capacity or images change)."""

    name: str
    resource_group: str = "default"
    architecture: str = "x86_64"
    capacity: dict[str, Scalar]
    images: list[str] = msgspec.field(default_factory=list)
    version: str = ""
    simulated: bool = False


class CreateResourceGroup(Command, frozen=True, kw_only=True):
    actor: str
    name: str
    queue_order: str = "fifo"
    agent_selector: str = "concentrated"
    max_attempts: int = 3
    pending_timeout: float | None = None


class ChangeResourceGroup(Command, frozen=True, kw_only=True):
    actor: str
    name: str
    queue_order: str
    agent_selector: str
    max_attempts: int = 3
    pending_timeout: float | None = None


class CommandError(msgspec.Struct, frozen=True):
    code: str
    message: str


class CommandReply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ok: bool
    session_id: str | None = None
    notification_id: int | None = None
    duplicate: bool = False
    error: CommandError | None = None
    #: command-specific results (e.g. a new keypair's secret, given once)
    data: dict[str, str] | None = None
