"""Accelerators handed to real containers (mock plugin), and live telemetry from the agent."""

from __future__ import annotations

import asyncio
import itertools
import urllib.request
from datetime import datetime

import msgspec

from deploy.natsd import free_port
from events.agent_rpc import AgentTelemetry, telemetry_subject
from events.session import SessionTerminated
from tests.integration.agent.podman_cluster import PodmanCluster


async def test_mock_devices_go_to_one_session_at_a_time(podman_cluster: PodmanCluster) -> None:
    cluster = podman_cluster
    cluster.procs.env["BERTH_MOCK_ACCELERATORS"] = '{"key": "mock", "devices": 2}'
    name = cluster.unique_name("gpu-node")
    cluster.start_agent(name, "--accelerators", "mock")
    await cluster.agent_ready(name)
    sessions = [
        await cluster.request(
            f"trainer-{i}",
            session_type="batch",
            resources={"cpu": "0.25", "mem": "32m", "mock.device": 1},
            startup_command="echo devices=$BERTH_MOCK_DEVICES; sleep 1",
            designated_agent=name,
        )
        for i in range(3)
    ]
    held: dict[str, list[tuple[datetime, datetime]]] = {}
    for sid in sessions:
        ended = await cluster.wait_event(sid, "SessionTerminated")
        assert isinstance(ended, SessionTerminated)
        assert ended.exit_code == 0, ended
        device = (await cluster.logs(sid)).data.strip()
        running = cluster.watch.last(sid, "SessionRunning")
        held.setdefault(device, []).append((running.timestamp, ended.timestamp))
    assert sorted(held) == ["devices=mock:0", "devices=mock:1"]
    # Two devices, three sessions: a device is held by one session at a time.
    for spans in held.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end < start, spans


async def test_telemetry_is_published_and_served_to_prometheus(
    podman_cluster: PodmanCluster,
) -> None:
    cluster = podman_cluster
    port = free_port()
    name = cluster.unique_name("metered")
    cluster.start_agent(name, "--metrics-port", str(port))
    await cluster.agent_ready(name)
    sid = await cluster.request(
        "busy", resources={"cpu": "0.5", "mem": "48m"}, designated_agent=name
    )
    await cluster.wait_event(sid, "SessionRunning")
    kernel, agent = cluster.kernel_of(sid)
    sub = await cluster.nc.subscribe(telemetry_subject(agent))
    async with asyncio.timeout(30):
        while True:
            msg = await sub.next_msg(timeout=10)
            telemetry = msgspec.json.decode(msg.data, type=AgentTelemetry)
            usages = [k for k in telemetry.kernels if k.kernel_id == kernel]
            if usages:
                break
    await sub.unsubscribe()
    assert usages[0].mem_limit_bytes == 48 * 1024 * 1024
    assert usages[0].mem_bytes > 0

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            return str(reply.read().decode())

    metrics = await asyncio.to_thread(scrape)
    line = f'berth_kernel_memory_limit_bytes{{kernel_id="{kernel}",session_id="{sid}"}}'
    assert f"{line} {float(48 * 1024 * 1024)}" in metrics or f"{line} 5.0331648e+07" in metrics
