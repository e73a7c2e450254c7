"""What an agent answers directly, over core NATS request/reply: logs, exec and telemetry.

These are not decisions and not facts: reading a log or running a command in a
session changes no state the platform keeps, so nothing here is an event. The
gateway finds a kernel's agent in the read models and asks it on
``berth.agent.<agent-id>.<op>``.

- ``logs``: a slice of a kernel's output (stdout and stderr interleaved, as Podman
  keeps it), from a byte offset; the reply says where the next read starts.
  Following a log live is repeated ``logs`` requests with ``wait`` > 0: the agent
  answers as soon as new output arrives or the kernel ends (``finished``).
- ``exec``: run a command in a running kernel, with its output and exit code.
- telemetry is published, not requested: every few seconds each agent sends an
  :class:`AgentTelemetry` on ``berth.telemetry.<agent-id>`` (utilisation per kernel).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

AGENT_RPC_PREFIX = "berth.agent"
TELEMETRY_PREFIX = "berth.telemetry"
TELEMETRY_WILDCARD = f"{TELEMETRY_PREFIX}.*"

LOGS = "logs"
EXEC = "exec"

#: the most output one ``logs`` reply or one ``exec`` reply carries
MAX_CHUNK = 256 * 1024


def agent_rpc_subject(agent_id: UUID | str, op: str) -> str:
    return f"{AGENT_RPC_PREFIX}.{agent_id}.{op}"


def telemetry_subject(agent_id: UUID | str) -> str:
    return f"{TELEMETRY_PREFIX}.{agent_id}"


class RpcError(msgspec.Struct, frozen=True):
    #: ``kernel-not-found``, ``kernel-not-running``, ``bad-request``, ``timeout``, ``runtime``
    code: str
    message: str


class LogsRequest(msgspec.Struct, frozen=True, kw_only=True):
    kernel_id: UUID
    #: byte offset into the kernel's output; a negative value reads that many bytes from the end
    offset: int = 0
    #: seconds to wait for output past ``offset`` before answering (0: answer at once)
    wait: float = 0.0
    limit: int = MAX_CHUNK


class LogsReply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ok: bool
    data: str = ""
    #: where the next read starts
    next_offset: int = 0
    #: the kernel has ended: nothing will follow ``next_offset``
    finished: bool = False
    error: RpcError | None = None


class ExecRequest(msgspec.Struct, frozen=True, kw_only=True):
    kernel_id: UUID
    command: list[str]
    timeout: float = 30.0
    environ: dict[str, str] = msgspec.field(default_factory=dict)


class ExecReply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ok: bool
    exit_code: int | None = None
    output: str = ""
    #: the output was longer than ``MAX_CHUNK`` and was cut
    truncated: bool = False
    error: RpcError | None = None


class KernelUsage(msgspec.Struct, frozen=True, kw_only=True):
    session_id: UUID
    kernel_id: UUID
    #: percent of one CPU (200.0 = two CPUs busy)
    cpu_percent: float
    mem_bytes: int
    mem_limit_bytes: int
    #: per accelerator device: ``{"cuda:0": {"util_percent": 93.0, "mem_bytes": 1.2e9}}``
    accelerators: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)


class AgentTelemetry(msgspec.Struct, frozen=True, kw_only=True):
    agent_id: UUID
    observed_at: datetime
    kernels: list[KernelUsage]
