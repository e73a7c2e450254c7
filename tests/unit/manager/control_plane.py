"""A control plane for unit tests: the manager's real handlers on an in-memory store.

Agents are driven by hand: tests say when a kernel starts or exits, or an agent is lost.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from events import tenant_commands as tc
from events.commands import CreateResourceGroup, DestroySession, RegisterAgent, RequestSession
from events.facts import AnyFact, KernelCreated, KernelExited, KernelFailed, KernelStarted
from events.tenant import PolicyLimits
from services.manager import cluster_handlers, lifecycle, session_handlers, tenant_handlers
from services.manager.bootstrap import ensure_default_group
from services.manager.bootstrap_admin import ensure_first_admin
from services.manager.context import ManagerContext
from services.manager.domain.agent import AgentNode, agent_id_for
from services.manager.domain.resource_group import ResourceGroup, group_id_for
from services.manager.domain.session import Kernel, Session, SessionStatus
from services.manager.scheduling import RoundSummary, schedule_all, stop_expired_sessions
from services.manager.sealing import ManagerKey
from services.manager.settings import StoreSettings
from services.manager.store import EventStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class ControlPlane:
    def __init__(self, data_dir: Path) -> None:
        self.store = EventStore(StoreSettings(backend="memory"))
        self.ctx = ManagerContext.open(self.store)
        self.key = ManagerKey.generate()
        self.now = T0
        path = ensure_first_admin(self.store, data_dir, self.now, self.key)
        assert path is not None
        self.admin = json.loads(path.read_text())["access_key"]
        ensure_default_group(self.ctx, self.now)
        self.facts = 0

    # -- time and tenants ---------------------------------------------------------------

    def tick(self, seconds: float = 1.0) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def tenant(self, command: Any) -> Any:
        handler = {r.command_type: r.handler for r in tenant_handlers.routes(self.key)}[
            type(command)
        ]
        reply = handler(self.store, command, self.tick(0.001))
        self.ctx.directory.forget()
        assert reply.ok, reply
        return reply

    def user_with_policy(self, username: str, **limits: Any) -> str:
        """A user in the default project whose keypair has its own policy; its access key."""
        policy = f"policy-{username}"
        self.tenant(
            tc.DefineResourcePolicy(
                request_id=uuid.uuid4().hex,
                actor=self.admin,
                name=policy,
                limits=PolicyLimits(**limits),
            )
        )
        self.tenant(
            tc.CreateUser(
                request_id=uuid.uuid4().hex, actor=self.admin, domain="default", username=username
            )
        )
        self.tenant(
            tc.AddUserToProject(
                request_id=uuid.uuid4().hex,
                actor=self.admin,
                username=username,
                project="default",
            )
        )
        reply = self.tenant(
            tc.IssueKeypair(
                request_id=uuid.uuid4().hex, actor=self.admin, username=username, policy=policy
            )
        )
        return str(reply.data["access_key"])

    # -- cluster ------------------------------------------------------------------------

    def group(self, name: str = "default") -> ResourceGroup:
        return self.ctx.aggregates.require(ResourceGroup, group_id_for(name))

    def create_group(self, name: str, **fields: Any) -> None:
        reply = cluster_handlers.create_resource_group(
            self.ctx,
            CreateResourceGroup(request_id=uuid.uuid4().hex, actor=self.admin, name=name, **fields),
            self.tick(0.001),
        )
        assert reply.ok, reply

    def register(self, name: str, cpu: int = 8, mem: str = "16g", **fields: Any) -> UUID:
        fields.setdefault("images", ["python"])
        reply = cluster_handlers.register_agent(
            self.ctx,
            RegisterAgent(
                request_id=uuid.uuid4().hex, name=name, capacity={"cpu": cpu, "mem": mem}, **fields
            ),
            self.tick(0.001),
        )
        assert reply.ok, reply
        return agent_id_for(name)

    def agent(self, agent_id: UUID) -> AgentNode:
        return self.ctx.aggregates.require(AgentNode, agent_id)

    # -- sessions -----------------------------------------------------------------------

    def request(self, name: str = "s", *, actor: str | None = None, **fields: Any) -> UUID:
        fields.setdefault("image", "python")
        fields.setdefault("resources", {"cpu": 1, "mem": "1g"})
        reply = session_handlers.request_session(
            self.ctx,
            RequestSession(
                request_id=uuid.uuid4().hex, actor=actor or self.admin, name=name, **fields
            ),
            self.tick(0.001),
        )
        assert reply.ok and reply.session_id, reply
        return UUID(reply.session_id)

    def session(self, session_id: UUID) -> Session:
        return self.ctx.aggregates.require(Session, session_id)

    def status(self, session_id: UUID) -> SessionStatus:
        return self.session(session_id).status

    def schedule(self) -> RoundSummary:
        return schedule_all(self.ctx, self.tick(0.01))

    def check_lifetimes(self) -> int:
        return stop_expired_sessions(self.ctx, self.tick(0.01))

    def destroy(self, session_id: UUID, actor: str | None = None) -> None:
        reply = session_handlers.destroy_session(
            self.ctx,
            DestroySession(
                request_id=uuid.uuid4().hex, actor=actor or self.admin, session_id=str(session_id)
            ),
            self.tick(0.001),
        )
        assert reply.ok, reply

    # -- what agents report ---------------------------------------------------------------

    def report(self, fact: AnyFact) -> None:
        touched: lifecycle.Touched = {}
        lifecycle.observe(self.ctx, fact, touched, self.now)
        self.facts += 1
        self.ctx.aggregates.save_tracked("BERTH_FACTS", self.facts, *touched.values())

    def kernels(self, session_id: UUID) -> list[Kernel]:
        return sorted(self.session(session_id).kernels.values(), key=lambda k: k.index)

    def start(self, session_id: UUID) -> None:
        for kernel in self.kernels(session_id):
            common = self._common(session_id, kernel)
            self.report(KernelCreated(**common))
            self.report(KernelStarted(**common))

    def exit(self, session_id: UUID, code: int = 0, detail: str = "") -> None:
        for kernel in self.kernels(session_id):
            self.report(
                KernelExited(**self._common(session_id, kernel), exit_code=code, detail=detail)
            )

    def fail(self, session_id: UUID, reason: str) -> None:
        kernel = self.kernels(session_id)[0]
        self.report(KernelFailed(**self._common(session_id, kernel), reason=reason))

    def _common(self, session_id: UUID, kernel: Kernel) -> dict[str, Any]:
        return {
            "agent_id": kernel.agent_id,
            "observed_at": self.tick(0.001),
            "session_id": session_id,
            "kernel_id": kernel.kernel_id,
        }

    def lose(self, agent_id: UUID) -> None:
        touched = lifecycle.agent_lost(self.ctx, agent_id, "test says so", self.tick())
        self.ctx.aggregates.save(*touched.values())

    def recover(self, agent_id: UUID) -> None:
        touched = lifecycle.agent_recovered(self.ctx, agent_id, self.tick())
        self.ctx.aggregates.save(*touched.values())
