"""The Podman agent with real containers: batch results, limits, logs, exec, timeouts, refusals."""

from __future__ import annotations

import asyncio

from events.session import SessionErrored, SessionTerminated
from services.manager.domain.agent import agent_id_for
from tests.integration.agent.podman_cluster import PodmanCluster


async def _agent(cluster: PodmanCluster, stem: str = "node") -> str:
    name = cluster.unique_name(stem)
    cluster.start_agent(name)
    await cluster.agent_ready(name)
    return name


async def test_a_batch_session_ends_with_its_exit_code_result_and_log(
    podman_cluster: PodmanCluster,
) -> None:
    cluster = podman_cluster
    name = await _agent(cluster)
    sid = await cluster.request(
        "prints-and-fails",
        session_type="batch",
        startup_command="echo hello from berth; echo to stderr >&2; exit 3",
        designated_agent=name,
    )
    terminated = await cluster.wait_event(sid, "SessionTerminated")
    assert isinstance(terminated, SessionTerminated)
    assert (terminated.exit_code, terminated.result) == (3, "failure")
    names = cluster.watch.names(sid)
    flow = ["SessionScheduled", "SessionPreparing", "SessionRunning", "SessionTerminated"]
    assert [n for n in names if n in flow] == flow
    logs = await cluster.logs(sid)
    assert logs.ok, logs
    assert logs.finished
    assert "hello from berth\n" in logs.data and "to stderr\n" in logs.data
    assert cluster.api.containers_of(agent_id_for(name)) == []  # removed once reported


async def test_limits_are_visible_inside_the_container(podman_cluster: PodmanCluster) -> None:
    cluster = podman_cluster
    name = await _agent(cluster)
    sid = await cluster.request(
        "limits",
        session_type="batch",
        resources={"cpu": "1.5", "mem": "96m"},
        startup_command=(
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us"
            " /sys/fs/cgroup/cpuset/cpuset.cpus; echo cpu=$BERTH_CPU"
        ),
        designated_agent=name,
    )
    terminated = await cluster.wait_event(sid, "SessionTerminated")
    assert isinstance(terminated, SessionTerminated)
    assert terminated.exit_code == 0, (await cluster.logs(sid)).data
    lines = (await cluster.logs(sid)).data.split()
    assert lines[0] == str(96 * 1024 * 1024)
    assert lines[1] == "150000"  # 1.5 CPUs of a 100 ms period
    assert lines[2] in ("0-1", "0,1")  # two cores for 1.5 CPUs
    assert lines[3] == "cpu=1.5"


async def test_a_memory_hungry_session_is_stopped_by_its_limit_and_reported_so(
    podman_cluster: PodmanCluster,
) -> None:
    cluster = podman_cluster
    name = await _agent(cluster)
    sid = await cluster.request(
        "hungry",
        session_type="batch",
        resources={"cpu": 1, "mem": "32m"},
        startup_command="x=a; while :; do x=$x$x; done",
        designated_agent=name,
    )
    terminated = await cluster.wait_event(sid, "SessionTerminated")
    assert isinstance(terminated, SessionTerminated)
    assert terminated.result == "failure"
    assert terminated.exit_code == 137
    assert terminated.reason.startswith("oom-killed"), terminated.reason


async def test_exec_in_an_interactive_session_then_destroy(podman_cluster: PodmanCluster) -> None:
    cluster = podman_cluster
    name = await _agent(cluster)
    sid = await cluster.request("notebook", designated_agent=name)
    await cluster.wait_event(sid, "SessionRunning")
    reply = await cluster.exec(sid, ["sh", "-c", "echo out; echo err >&2; exit 5"])
    assert reply.ok, reply
    assert reply.exit_code == 5
    assert reply.output == "out\nerr\n"
    reply = await cluster.exec(sid, ["sh", "-c", "echo $BERTH_SESSION_ID"])
    assert reply.output.strip() == sid
    destroyed = await cluster.client.destroy_session(sid, actor=cluster.admin)
    assert destroyed.ok, destroyed
    terminated = await cluster.wait_event(sid, "SessionTerminated")
    assert isinstance(terminated, SessionTerminated)
    assert terminated.result == "undefined"
    async with asyncio.timeout(30):
        while cluster.api.containers_of(agent_id_for(name)):
            await asyncio.sleep(0.1)


async def test_a_batch_timeout_stops_the_session(podman_cluster: PodmanCluster) -> None:
    cluster = podman_cluster
    name = await _agent(cluster)
    sid = await cluster.request(
        "sleeper",
        session_type="batch",
        startup_command="sleep 600",
        batch_timeout=1.0,
        designated_agent=name,
    )
    terminated = await cluster.wait_event(sid, "SessionTerminated")
    assert isinstance(terminated, SessionTerminated)
    assert terminated.result == "failure"
    assert terminated.reason.startswith("timeout"), terminated.reason


async def test_logs_can_be_followed_while_the_session_runs(podman_cluster: PodmanCluster) -> None:
    cluster = podman_cluster
    name = await _agent(cluster)
    sid = await cluster.request(
        "ticker",
        session_type="batch",
        startup_command="for i in 1 2 3; do echo tick $i; sleep 0.3; done",
        designated_agent=name,
    )
    await cluster.wait_event(sid, "SessionRunning")
    seen, offset = "", 0
    async with asyncio.timeout(60):
        while True:
            reply = await cluster.logs(sid, offset=offset, wait=5.0)
            assert reply.ok, reply
            seen += reply.data
            offset = reply.next_offset
            if reply.finished:
                break
    assert seen == "tick 1\ntick 2\ntick 3\n"


async def test_an_image_the_agent_lacks_ends_in_a_clear_error(
    podman_cluster: PodmanCluster,
) -> None:
    cluster = podman_cluster
    name = await _agent(cluster)
    # A node that offers the image is registered by a second, simulated agent, so the
    # manager accepts the request; the designated Podman agent does not have it.
    cluster.procs.start(
        "sim",
        *("-m", "services.agent.simulated", "--prefix", cluster.unique_name("sim")),
        *("--agents", "1", "--images", "berth-missing"),
    )
    await asyncio.sleep(0)
    async with asyncio.timeout(60):
        while True:
            reply = await cluster.client.request_session(
                actor=cluster.admin,
                name="missing",
                image="berth-missing",
                resources={"cpu": 1, "mem": "64m"},
                designated_agent=name,
            )
            if reply.ok:
                break
            await asyncio.sleep(0.2)  # until the simulated agent has registered
    assert reply.session_id is not None
    errored = await cluster.wait_event(reply.session_id, "SessionErrored")
    assert isinstance(errored, SessionErrored)
    assert errored.reason == f"image 'berth-missing' is not on agent {name}"
