"""Fixtures for the Podman agent's integration tests: one Podman API, a manager, a stream watch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest

from services.manager.settings import StoreSettings
from tests.conftest import NatsServer
from tests.integration.agent.podman_cluster import (
    PodmanApi,
    PodmanCluster,
    agent_env,
    podman_missing,
)
from tests.integration.agent.session_watch import StreamWatch
from tests.integration.relay.processes import Processes, berth_env


@pytest.fixture(scope="session")
def podman_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodmanApi]:
    reason = podman_missing()
    if reason:
        pytest.skip(reason)
    api = PodmanApi(tmp_path_factory.mktemp("podman"))
    api.service.ensure()
    yield api
    api.service.stop()


@pytest.fixture
async def podman_cluster(
    nats_server: NatsServer, tmp_path: Path, podman_api: PodmanApi, small_image: str
) -> AsyncIterator[PodmanCluster]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = StoreSettings(backend="sqlite", sqlite_path=data_dir / "events.sqlite3")
    env = berth_env(store, nats_server.url, data_dir)
    env.update(BERTH_SCHEDULER_TICK="0.2", BERTH_AGENT_LOST_AFTER="20")
    env.update(agent_env(podman_api))
    procs = Processes(env, tmp_path / "logs")
    nc = await nats.connect(nats_server.url)
    watch = StreamWatch(nc.jetstream())
    cluster = PodmanCluster(procs, data_dir, nc, watch, podman_api)
    try:
        procs.start("manager", "-m", "services.manager", "serve")
        await cluster.ready()
        await watch.start()
        yield cluster
    finally:
        await watch.stop()
        await nc.close()
        procs.close()
        for agent_id in cluster.agents.values():
            podman_api.remove_containers_of(agent_id)
