"""The agent, resource-group and tenant read models, from a real manager's history.

The manager runs in-process on a real nats-server: tenants are made and changed,
agents join (one is re-registered; only one keeps sending heartbeats, the others
are lost), sessions are placed and some destroyed. Each model is projected, checked for what a user
would see, then rebuilt from zero to identical tables.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
from nats.aio.client import Client as NATS

from events import tenant_commands as tc
from events.commands import CommandReply
from events.relay import stream_position
from events.subjects import heartbeat_subject
from events.tenant import PolicyLimits
from projections.agents import AgentView
from projections.base import Projection
from projections.rebuild import rebuild_read_model
from projections.resource_groups import ResourceGroupView
from projections.sessions import SessionView
from projections.settings import ReadStoreSettings
from projections.tenants import TenantView
from services.manager.bootstrap import serve
from services.manager.client import ManagerClient
from services.manager.domain.agent import agent_id_for
from services.manager.settings import StoreSettings
from services.manager.store import EventStore
from tests.conftest import NatsServer
from tests.integration.projections.backbone import dump_model, projecting, query

PATIENCE = 60.0


@dataclass
class History:
    nc: NATS
    last: int
    admin: str


async def _until(condition: Any, what: str) -> None:
    async with asyncio.timeout(PATIENCE):
        while not condition():
            await asyncio.sleep(0.05)


def _ok(reply: CommandReply) -> CommandReply:
    assert reply.ok, reply
    return reply


async def _tenants(client: ManagerClient, admin: str) -> None:
    def rid() -> str:
        return uuid.uuid4().hex

    async def send(name: str, command: msgspec.Struct) -> CommandReply:
        return _ok(await client.send(name, command))

    await send(tc.CREATE_DOMAIN, tc.CreateDomain(request_id=rid(), actor=admin, name="lab"))
    small = PolicyLimits(total_resource_slots={"cpu": "4"}, max_concurrent_sessions=2)
    await send(
        tc.DEFINE_POLICY,
        tc.DefineResourcePolicy(request_id=rid(), actor=admin, name="small", limits=small),
    )
    await send(
        tc.CREATE_PROJECT,
        tc.CreateProject(request_id=rid(), actor=admin, domain="lab", name="ml", policy="small"),
    )
    for username, role in (("ada", "domain_admin"), ("bob", "user")):
        await send(
            tc.CREATE_USER,
            tc.CreateUser(
                request_id=rid(), actor=admin, domain="lab", username=username, role=role
            ),
        )
        await send(
            tc.ADD_USER_TO_PROJECT,
            tc.AddUserToProject(request_id=rid(), actor=admin, username=username, project="ml"),
        )
    kept = await send(
        tc.ISSUE_KEYPAIR, tc.IssueKeypair(request_id=rid(), actor=admin, username="ada")
    )
    gone = await send(
        tc.ISSUE_KEYPAIR, tc.IssueKeypair(request_id=rid(), actor=admin, username="bob")
    )
    assert kept.data and gone.data
    await send(
        tc.REVOKE_KEYPAIR,
        tc.RevokeKeypair(request_id=rid(), actor=admin, access_key=gone.data["access_key"]),
    )
    await send(
        tc.ASSIGN_USER_POLICY,
        tc.AssignUserPolicy(request_id=rid(), actor=admin, username="bob", policy="small"),
    )
    await send(
        tc.CHANGE_USER_ROLE,
        tc.ChangeUserRole(request_id=rid(), actor=admin, username="bob", role="domain_admin"),
    )
    await send(tc.DEACTIVATE_USER, tc.DeactivateUser(request_id=rid(), actor=admin, username="bob"))
    bigger = PolicyLimits(total_resource_slots={"cpu": "8"})
    await send(
        tc.CHANGE_POLICY,
        tc.ChangeResourcePolicy(request_id=rid(), actor=admin, name="small", limits=bigger),
    )


async def _cluster(client: ManagerClient, admin: str, store: EventStore) -> None:
    _ok(await client.create_resource_group(actor=admin, name="night", queue_order="lifo"))
    for name, group in (("a-0", "default"), ("a-1", "default"), ("n-0", "night")):
        await client.register_agent(
            name=name,
            resource_group=group,
            capacity={"cpu": 4, "mem": "8g"},
            images=["berth-small"],
        )
    # Again, with more memory: an update, not a second agent.
    await client.register_agent(
        name="a-1", capacity={"cpu": 4, "mem": "16g"}, images=["berth-small", "berth-python"]
    )
    sessions = []
    for n in range(5):
        reply = _ok(
            await client.request_session(
                actor=admin, name=f"s{n}", image="berth-small", resources={"cpu": 2, "mem": "1g"}
            )
        )
        sessions.append(reply.session_id)

    def scheduled() -> int:
        topics = [n.topic for n in store.app_recorder.select_notifications(1, 100_000)]
        return sum(t.startswith("session.SessionScheduled") for t in topics)

    await _until(lambda: scheduled() == 4, "four sessions placed (the fifth waits)")
    for session_id in sessions[:2]:
        assert session_id is not None
        _ok(await client.destroy_session(session_id, actor=admin))


@pytest.fixture
async def history(
    nats_server: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[History]:
    monkeypatch.setenv("BERTH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BERTH_SCHEDULER_TICK", "0.1")
    # Agents without heartbeats are lost this long after they registered.
    monkeypatch.setenv("BERTH_AGENT_LOST_AFTER", "2")
    store = EventStore(StoreSettings(sqlite_path=tmp_path / "events.sqlite3"))
    server_nc = await nats.connect(nats_server.url)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(store, server_nc, stop))
    nc = await nats.connect(nats_server.url)
    client = ManagerClient(nc)
    credentials = tmp_path / "admin-credentials.json"

    async def heartbeats() -> None:
        while True:
            await nc.publish(heartbeat_subject(agent_id_for("a-0")), b"")
            await asyncio.sleep(0.3)

    beating = asyncio.create_task(heartbeats())
    try:
        await _until(credentials.exists, "the first administrator")
        admin = json.loads(credentials.read_text())["access_key"]
        for _ in range(200):
            try:
                await client.lookup_keypair(admin)
                break
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                await asyncio.sleep(0.05)
        await _tenants(client, admin)
        await _cluster(client, admin, store)

        def lost() -> int:
            topics = [n.topic for n in store.app_recorder.select_notifications(1, 100_000)]
            return sum(t.startswith("agent.AgentLost") for t in topics)

        await _until(lambda: lost() == 2, "the silent agents lost")
        last = store.max_notification_id()
        js = nc.jetstream()
        async with asyncio.timeout(PATIENCE):
            while (await stream_position(js)).notification_id < last:
                await asyncio.sleep(0.05)
        yield History(nc=nc, last=last, admin=admin)
    finally:
        beating.cancel()
        stop.set()
        await asyncio.wait_for(task, 15)
        await nc.close()
        await server_nc.close()
        store.close()


async def _project(
    settings: ReadStoreSettings, nc: NATS, projection: Projection, last: int
) -> None:
    async with projecting(settings, nc, [projection]) as runner:
        await runner.wait_for(last, timeout=PATIENCE)


async def _rebuilds_identically(
    settings: ReadStoreSettings, nc: NATS, projection: Projection
) -> None:
    before = dump_model(settings, projection)
    assert await rebuild_read_model(projection.name, nc, settings) > 0
    assert dump_model(settings, projection) == before


async def test_agents_show_status_capacity_and_what_their_kernels_hold(
    history: History, read_settings: ReadStoreSettings
) -> None:
    await _project(read_settings, history.nc, AgentView(), history.last)
    rows = {
        r[0]: r[1:]
        for r in query(
            read_settings,
            "SELECT name, status, capacity, allocated, images, kernels, simulated FROM agent_view",
        )
    }
    assert set(rows) == {"a-0", "a-1", "n-0"}
    assert {name: r[0] for name, r in rows.items()} == {
        "a-0": "ALIVE",
        "a-1": "LOST",
        "n-0": "LOST",
    }
    assert json.loads(rows["a-1"][1]) == {"cpu": "4", "mem": "17179869184"}
    assert json.loads(rows["a-1"][3]) == ["berth-python", "berth-small"]
    # What is allocated is what the kernels still assigned hold, agent by agent.
    for name, (_, _, allocated, _, kernels, _) in rows.items():
        held = query(
            read_settings,
            "SELECT slots FROM agent_kernel WHERE agent_id = ?",
            str(agent_id_for(name)),
        )
        assert kernels == len(held)
        cpu = sum(int(json.loads(s[0])["cpu"]) for s in held)
        assert json.loads(allocated).get("cpu", "0") == str(cpu)
    # The live agent still holds its kernels (destroyed ones until the agent reports
    # them gone); the lost agents' kernels were released.
    assert rows["a-0"][4] == 2 and json.loads(rows["a-0"][2]) == {"cpu": "4", "mem": "2147483648"}
    assert rows["a-1"][4] == 0 and rows["n-0"][4] == 0
    await _rebuilds_identically(read_settings, history.nc, AgentView())


async def test_resource_groups_show_policy_agents_and_queue(
    history: History, read_settings: ReadStoreSettings
) -> None:
    await _project(read_settings, history.nc, ResourceGroupView(), history.last)
    rows = {
        r[0]: r[1:]
        for r in query(
            read_settings,
            "SELECT name, queue_order, agents, schedulable_agents, capacity, pending"
            " FROM rgroup_view",
        )
    }
    assert set(rows) == {"default", "night"}
    assert rows["night"][0] == "lifo"
    assert rows["default"][1] == 2 and rows["night"][1] == 1
    # Only the agent that kept sending heartbeats counts.
    assert rows["default"][2] == 1
    assert json.loads(rows["default"][3]) == {"cpu": "4", "mem": "8589934592"}
    assert rows["night"][2] == 0 and json.loads(rows["night"][3]) == {}
    # The fifth session waits: both agents were full when it came.
    queued = query(read_settings, "SELECT COUNT(*) FROM rgroup_pending")
    assert rows["default"][4] == queued[0][0] == 1
    await _rebuilds_identically(read_settings, history.nc, ResourceGroupView())


async def test_tenants_are_listed_without_secrets(
    history: History, read_settings: ReadStoreSettings
) -> None:
    await _project(read_settings, history.nc, TenantView(), history.last)
    users = {
        r[0]: r[1:]
        for r in query(
            read_settings, "SELECT username, role, policy, active, projects FROM tenant_user"
        )
    }
    assert users["bob"] == ("domain_admin", "small", 0, '["ml"]')
    assert users["ada"][0] == "domain_admin" and users["ada"][2] == 1
    keypairs = query(read_settings, "SELECT username, domain, active FROM tenant_keypair")
    assert sorted(keypairs) == [("ada", "lab", 1), ("admin", "default", 1), ("bob", "lab", 0)]
    limits = query(read_settings, "SELECT limits FROM tenant_policy WHERE name = 'small'")
    assert json.loads(limits[0][0]) == {"total_resource_slots": {"cpu": "8"}}
    assert query(read_settings, "SELECT domain, name FROM tenant_project ORDER BY domain") == [
        ("default", "default"),
        ("lab", "ml"),
    ]
    dump = dump_model(read_settings, TenantView())
    assert "secret" not in json.dumps(dump, default=str).lower()
    await _rebuilds_identically(read_settings, history.nc, TenantView())


async def test_sessions_name_the_kernels_of_their_placement(
    history: History, read_settings: ReadStoreSettings
) -> None:
    await _project(read_settings, history.nc, SessionView(), history.last)
    kernels = query(
        read_settings,
        "SELECT v.name, k.kernel_index, k.agent_id FROM session_kernel k"
        " JOIN session_view v ON v.id = k.session_id ORDER BY v.name",
    )
    # Four sessions were placed, one kernel each; the fifth has none yet.
    assert [(name, index) for name, index, _ in kernels] == [(f"s{n}", 0) for n in range(4)]
    agents = {str(agent_id_for("a-0")), str(agent_id_for("a-1"))}
    assert {agent for _, _, agent in kernels} <= agents
    await _rebuilds_identically(read_settings, history.nc, SessionView())
