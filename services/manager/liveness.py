"""Agent liveness from heartbeats: not events, only their meaning is.

Agents publish a heartbeat on core NATS (``berth.hb.<agent-id>``) every few
seconds. An agent silent for longer than ``lost_after`` is declared lost
(``AgentLost``, its sessions resolved, its capacity released); a heartbeat from a
lost agent recovers it. After the manager starts, every agent gets a full
``lost_after`` of grace, since the manager has not been listening before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from functools import partial
from uuid import UUID

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from events.subjects import HEARTBEAT_WILDCARD
from services.manager.context import ManagerContext
from services.manager.decider import Decider
from services.manager.domain.agent import AgentNode
from services.manager.lifecycle import agent_lost, agent_recovered

log = logging.getLogger("berth.liveness")


class LivenessMonitor:
    def __init__(self, ctx: ManagerContext, lost_after: float = 15.0) -> None:
        self._ctx = ctx
        self.lost_after = lost_after
        self._started = time.monotonic()
        # Written by the event loop (heartbeats), read by the decision thread: plain
        # dict and set updates, which are atomic in CPython; no decision per heartbeat.
        self._seen: dict[UUID, float] = {}
        self._lost: set[UUID] = set()

    def heard(self, agent_id: UUID) -> bool:
        """Record a heartbeat; True when the agent is known to have been declared lost."""
        self._seen[agent_id] = time.monotonic()
        return agent_id in self._lost

    def silent_agents(self) -> list[UUID]:
        """Agents silent for too long (runs on the decision thread)."""
        now = time.monotonic()
        silent = []
        for group in self._ctx.groups():
            for record in group.pool:
                agent_id = record.agent_id
                agent = self._ctx.aggregates.get(AgentNode, agent_id)
                if agent is None or agent.decommissioned:
                    continue
                if agent.lost:
                    self._lost.add(agent_id)
                    continue
                if now - self._seen.get(agent_id, self._started) > self.lost_after:
                    silent.append(agent_id)
        return silent

    def declare_lost(self, agent_id: UUID) -> None:
        if time.monotonic() - self._seen.get(agent_id, self._started) <= self.lost_after:
            return  # heard from since the scan
        touched = agent_lost(
            self._ctx, agent_id, f"no heartbeat for {self.lost_after:g}s", datetime.now(UTC)
        )
        if touched:
            self._ctx.aggregates.save(*touched.values())
            self._lost.add(agent_id)
            log.warning("agent %s declared lost", agent_id)

    def recover(self, agent_id: UUID) -> None:
        touched = agent_recovered(self._ctx, agent_id, datetime.now(UTC))
        if touched:
            self._ctx.aggregates.save(*touched.values())
            log.info("agent %s recovered", agent_id)
        self._lost.discard(agent_id)

    async def run(
        self, nc: NATS, decide: Decider, stop: asyncio.Event, interval: float = 1.0
    ) -> None:
        async def on_heartbeat(msg: Msg) -> None:
            try:
                agent_id = UUID(msg.subject.rsplit(".", 1)[1])
            except ValueError:
                return
            if self.heard(agent_id):
                await decide(partial(self.recover, agent_id))

        sub = await nc.subscribe(HEARTBEAT_WILDCARD, cb=on_heartbeat)
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                try:
                    for agent_id in await decide(self.silent_agents):
                        await decide(partial(self.declare_lost, agent_id))
                except Exception:
                    log.exception("liveness check failed; trying again")
        finally:
            await sub.unsubscribe()
