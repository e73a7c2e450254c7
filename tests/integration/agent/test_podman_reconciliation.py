"""kill -9 the Podman agent while sessions start, run and stop; start it again; nothing is lost.

Every session ends in the state its command and its destroy request call for, a
running container is adopted (not created again), a container that ended while
the agent was away is reported with its exit code, and no container is left.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess

import pytest

from events.session import SessionTerminated
from services.agent.container_spec import LABEL_AGENT
from services.manager.domain.agent import agent_id_for
from tests.integration.agent.podman_cluster import PodmanCluster
from tests.integration.relay.processes import Processes


def _creations(agent_name: str) -> list[str]:
    """Container ids Podman created for this agent, from Podman's own event log."""
    out = subprocess.run(
        [
            "podman",
            "events",
            "--stream=false",
            "--since=30m",
            "--format=json",
            f"--filter=label={LABEL_AGENT}={agent_id_for(agent_name)}",
            "--filter=event=create",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    ).stdout
    return [json.loads(line)["ID"] for line in out.splitlines() if line.strip()]


async def _terminated(cluster: PodmanCluster, sid: str) -> SessionTerminated:
    event = await cluster.wait_event(sid, "SessionTerminated")
    assert isinstance(event, SessionTerminated)
    return event


async def test_a_killed_agent_picks_up_every_session_where_it_left_it(
    podman_cluster: PodmanCluster,
) -> None:
    cluster = podman_cluster
    name = cluster.unique_name("phoenix")
    agent = cluster.start_agent(name)
    await cluster.agent_ready(name)

    async def batch(label: str, command: str) -> str:
        return await cluster.request(
            label, session_type="batch", startup_command=command, designated_agent=name
        )

    keeps_running = await cluster.request("keeps-running", designated_agent=name)
    ends_while_away = await batch("ends-while-away", "sleep 2; exit 4")
    destroyed_while_away = await cluster.request("destroyed-while-away", designated_agent=name)
    for sid in (keeps_running, ends_while_away, destroyed_while_away):
        await cluster.wait_event(sid, "SessionRunning")
    kernel, _ = cluster.kernel_of(keeps_running)
    kept = [
        c.id
        for c in cluster.api.containers_of(agent_id_for(name))
        if c.labels.get("io.berth.kernel-id") == str(kernel)
    ]
    assert len(kept) == 1

    starting = await batch("starting-when-killed", "sleep 1; exit 0")
    await asyncio.sleep(random.uniform(0.0, 0.3))
    Processes.kill(agent)

    destroyed = await cluster.client.destroy_session(destroyed_while_away, actor=cluster.admin)
    assert destroyed.ok, destroyed
    assigned_while_away = await batch("assigned-while-away", "echo late; exit 0")
    await cluster.wait_event(assigned_while_away, "SessionScheduled")
    await asyncio.sleep(2.5)  # ends-while-away exits meanwhile

    cluster.start_agent(name)
    assert (await _terminated(cluster, ends_while_away)).exit_code == 4
    assert (await _terminated(cluster, destroyed_while_away)).result == "undefined"
    for sid in (starting, assigned_while_away):
        ended = await _terminated(cluster, sid)
        assert (ended.exit_code, ended.result) == (0, "success"), (sid, ended)
    assert "late" in (await cluster.logs(assigned_while_away)).data

    # Adopted, not created again: the same container still runs the session.
    running = {
        c.id: c.attrs.get("State")
        for c in cluster.api.containers_of(agent_id_for(name))
        if c.labels.get("io.berth.kernel-id") == str(kernel)
    }
    assert running == {kept[0]: "running"}
    assert "SessionTerminated" not in cluster.watch.names(keeps_running)
    destroyed = await cluster.client.destroy_session(keeps_running, actor=cluster.admin)
    assert destroyed.ok, destroyed
    await _terminated(cluster, keeps_running)

    async with asyncio.timeout(30):
        while cluster.api.containers_of(agent_id_for(name)):
            await asyncio.sleep(0.1)
    created = _creations(name)
    assert len(created) == len(set(created)) == 5  # one container per kernel, never two


@pytest.mark.slow
async def test_repeated_kills_at_random_moments_lose_nothing(
    podman_cluster: PodmanCluster,
) -> None:
    cluster = podman_cluster
    name = cluster.unique_name("tumbler")
    rng = random.Random(7)
    expected: dict[str, int] = {}
    agent = cluster.start_agent(name)
    await cluster.agent_ready(name)
    for cycle in range(3):
        for i in range(4):
            code = (cycle + i) % 3
            pause = rng.choice(["0", "0.2", "0.5"])
            sid = await cluster.request(
                f"job-{cycle}-{i}",
                session_type="batch",
                startup_command=f"sleep {pause}; exit {code}",
                designated_agent=name,
            )
            expected[sid] = code
        await asyncio.sleep(rng.uniform(0.1, 1.2))
        Processes.kill(agent)
        await asyncio.sleep(rng.uniform(0.0, 1.0))
        agent = cluster.start_agent(name)
    for sid, code in expected.items():
        ended = await _terminated(cluster, sid)
        assert ended.exit_code == code, (sid, ended)
    async with asyncio.timeout(30):
        while cluster.api.containers_of(agent_id_for(name)):
            await asyncio.sleep(0.1)
    created = _creations(name)
    assert len(created) == len(set(created)) == len(expected)
