"""Facts: what agents observe, published to ``BERTH_FACTS`` and ingested by the manager.

Facts are not decisions; the manager turns each into events exactly once, storing the
fact stream's position with the resulting events in one transaction.
Subject: ``berth.fact.<agent-id>.<FactName>``; ``Nats-Msg-Id`` is ``<kernel-id>.<FactName>``.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec


class Fact(msgspec.Struct, frozen=True, kw_only=True, tag_field="fact"):
    agent_id: UUID
    observed_at: datetime


class KernelCreated(Fact, frozen=True, kw_only=True, tag="KernelCreated"):
    session_id: UUID
    kernel_id: UUID
    container_id: str = ""


class KernelStarted(Fact, frozen=True, kw_only=True, tag="KernelStarted"):
    session_id: UUID
    kernel_id: UUID


class KernelExited(Fact, frozen=True, kw_only=True, tag="KernelExited"):
    session_id: UUID
    kernel_id: UUID
    exit_code: int | None
    #: why it ended when the agent knows: "timeout", "oom-killed", "terminated", …
    detail: str = ""


class KernelFailed(Fact, frozen=True, kw_only=True, tag="KernelFailed"):
    """The kernel could not be created or started (missing image, bad mount, …)."""

    session_id: UUID
    kernel_id: UUID
    reason: str


AnyFact = KernelCreated | KernelStarted | KernelExited | KernelFailed

_decoder = msgspec.json.Decoder(AnyFact)
_encoder = msgspec.json.Encoder()


def encode_fact(fact: Fact) -> bytes:
    return _encoder.encode(fact)


def decode_fact(payload: bytes) -> AnyFact:
    fact: AnyFact = _decoder.decode(payload)
    return fact


def fact_msg_id(fact: AnyFact) -> str:
    """One id per kernel and kind of fact: a fact sent twice is stored once."""
    return f"{fact.kernel_id}.{type(fact).__name__}"


def fact_subject(fact: Fact) -> str:
    return f"berth.fact.{fact.agent_id}.{type(fact).__name__}"
