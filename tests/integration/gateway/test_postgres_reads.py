"""The REST API's reads on PostgreSQL: the same queries, the other dialect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.manager.settings import StoreSettings
from tests.conftest import PG_ADMIN_DSN, NatsServer
from tests.integration.gateway.helpers import create_session, wait_session, wait_until
from tests.integration.gateway.signed_client import SignedClient
from tests.integration.gateway.stack import AGENTS, GatewayStack
from tests.scratch_pg import scratch_database


@pytest.fixture(scope="module")
def pg_dsn(pg_unreachable: str | None) -> Iterator[str]:
    if pg_unreachable:
        pytest.skip(pg_unreachable)
    with scratch_database(PG_ADMIN_DSN, "berth_test") as dsn:
        yield dsn


@pytest.fixture(scope="module")
def pg_admin(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str) -> Iterator[SignedClient]:
    root = tmp_path_factory.mktemp("gateway-pg")
    nats = NatsServer(root / "jetstream")
    nats.start()
    running = GatewayStack(StoreSettings(backend="postgres", pg_dsn=pg_dsn), nats.url, root)
    try:
        running.start()
        assert running.admin is not None
        yield running.admin
    finally:
        running.close()
        nats.stop()


def test_sessions_are_listed_filtered_paged_and_shown(pg_admin: SignedClient) -> None:
    ids = [create_session(pg_admin, f"pg-{n}") for n in range(3)]
    later = create_session(pg_admin, "pg-later", starts_at="2099-01-01T00:00:00Z")
    for session_id in ids:
        wait_session(pg_admin, session_id, "RUNNING")
    wait_session(pg_admin, later, "PENDING")

    running = pg_admin.get("/v1/sessions", params={"status": "RUNNING,SCHEDULED"}).json()
    assert [s["id"] for s in running["items"]] == list(reversed(ids))
    pending = pg_admin.get("/v1/sessions", params={"status": "pending", "project": "default"})
    assert [s["id"] for s in pending.json()["items"]] == [later]
    named = pg_admin.get("/v1/sessions", params={"name": "pg-1"}).json()["items"]
    assert [s["id"] for s in named] == [ids[1]]

    first = pg_admin.get("/v1/sessions", params={"limit": 3}).json()
    rest = pg_admin.get("/v1/sessions", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [s["id"] for s in first["items"] + rest["items"]] == [later, *reversed(ids)]
    assert rest["next_cursor"] is None

    shown = pg_admin.get(f"/v1/sessions/{ids[0]}").json()
    assert shown["kernels"][0]["index"] == 0 and shown["cluster_size"] == 1
    history = pg_admin.get(f"/v1/sessions/{ids[0]}/history").json()["items"]
    assert [h["status"] for h in history][:2] == ["PENDING", "SCHEDULED"]


def test_cluster_and_tenants_are_listed(pg_admin: SignedClient) -> None:
    first = pg_admin.get("/v1/agents", params={"limit": 1}).json()
    second = pg_admin.get("/v1/agents", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [a["name"] for a in first["items"] + second["items"]] == list(AGENTS)
    assert second["next_cursor"] is None
    alive = pg_admin.get("/v1/agents", params={"status": "ALIVE"}).json()["items"]
    assert all(a["simulated"] for a in alive) and len(alive) == len(AGENTS)

    for project in ("ml_x", "mlyx"):
        assert pg_admin.post("/v1/admin/projects", {"name": project}).status_code == 201
    for name, project in (("pg-a", "ml_x"), ("pg-b", "mlyx")):
        assert pg_admin.post("/v1/admin/users", {"username": name}).status_code == 201
        joined = pg_admin.post(f"/v1/admin/users/{name}/projects", {"project": project})
        assert joined.status_code == 200, joined.text

    def joined_last() -> bool:
        reply = pg_admin.get("/v1/admin/users/pg-b")
        return reply.status_code == 200 and reply.json()["projects"] == ["mlyx"]

    wait_until(joined_last, "the last membership projected")
    users = pg_admin.get("/v1/admin/users", params={"project": "ml_x"}).json()["items"]
    # "_" in the project's name is matched literally, not as any one character.
    assert [u["username"] for u in users] == ["pg-a"]
    keypairs = pg_admin.get("/v1/admin/keypairs", params={"username": "admin"}).json()["items"]
    assert [k["username"] for k in keypairs] == ["admin"]
