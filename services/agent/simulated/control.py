"""Steering a simulated fleet from outside: make chosen agents fall silent, or speak again.

A silent agent is a node that is down: it sends no heartbeats and reports no
facts, so the manager declares it lost. This is a simulation control, not part
of Berth's protocol; its subject sits apart from ``berth.ev``/``berth.fact``/``berth.cmd``.
"""

from __future__ import annotations

import msgspec
from nats.aio.client import Client as NATS

CONTROL_PREFIX = "berth.sim"


def control_subject(prefix: str) -> str:
    """One subject per fleet, named by its agents' name prefix."""
    return f"{CONTROL_PREFIX}.{prefix}.control"


class ControlRequest(msgspec.Struct, frozen=True, kw_only=True):
    #: agent names that stop heartbeating and reporting
    silence: list[str] = msgspec.field(default_factory=list)
    #: agent names that come back
    speak: list[str] = msgspec.field(default_factory=list)


class ControlReply(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    #: every agent that is silent after the request
    silent: list[str] = msgspec.field(default_factory=list)
    error: str = ""


async def steer(
    nc: NATS, prefix: str, request: ControlRequest, timeout: float = 10.0
) -> ControlReply:
    reply = await nc.request(control_subject(prefix), msgspec.json.encode(request), timeout=timeout)
    return msgspec.json.decode(reply.data, type=ControlReply)
