"""The SDK and the CLI against the real gateway: manager, projections, simulated agents and
gateway as processes (the gateway tests' stack), on a private nats-server and SQLite store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from berth_sdk import (
    AsyncClient,
    AuthenticationError,
    Client,
    NotFound,
    PolicyLimits,
    SessionSpec,
)
from typer.testing import CliRunner

from cli.main import app
from tests.integration.gateway.stack import IMAGES, GatewayStack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    with running_stack(tmp_path_factory.mktemp("sdk")) as running:
        yield running


@pytest.fixture(scope="module")
def keys(stack: GatewayStack) -> dict[str, str]:
    return dict(json.loads((stack.data_dir / "admin-credentials.json").read_text()))


@pytest.fixture
def berth(stack: GatewayStack, keys: dict[str, str]) -> Iterator[Client]:
    with Client(
        stack.base_url, access_key=keys["access_key"], secret_key=keys["secret_key"]
    ) as client:
        yield client


def test_a_batch_session_runs_to_its_exit_code(berth: Client) -> None:
    accepted = berth.create_session(
        SessionSpec(
            name="sdk-batch",
            image=IMAGES[0],
            session_type="batch",
            startup_command="exit 3",
            resources={"cpu": "1", "mem": "64m"},
        )
    )
    seen = [s.status for s in berth.watch_session(accepted.session_id, timeout=60)]
    assert seen[-1] == "TERMINATED"
    ended = berth.get_session(accepted.session_id)
    assert (ended.exit_code, ended.result) == (3, "failure")
    statuses = [c.status for c in berth.session_history(accepted.session_id)]
    assert statuses[0] == "PENDING" and statuses[-1] == "TERMINATED"
    assert accepted.session_id in {s.id for s in berth.iter_sessions(name="sdk-batch")}


def test_a_repeated_request_id_finds_the_same_session(berth: Client) -> None:
    spec = SessionSpec(
        name="sdk-idem",
        image=IMAGES[0],
        resources={"cpu": "1", "mem": "64m"},
        request_id=f"sdk-{uuid.uuid4()}",
    )
    first = berth.create_session(spec)
    again = berth.create_session(spec)
    assert again.session_id == first.session_id and again.duplicate
    berth.wait_for(first.session_id, {"RUNNING"}, timeout=60)
    assert berth.destroy_session(first.session_id).session_id == first.session_id
    assert berth.wait_for(first.session_id, set(), timeout=60).ended


async def test_the_async_client_reads_the_cluster(
    stack: GatewayStack, keys: dict[str, str]
) -> None:
    async with AsyncClient(
        stack.base_url, access_key=keys["access_key"], secret_key=keys["secret_key"]
    ) as berth:
        me = await berth.whoami()
        agents = await berth.list_agents()
        images = {i.name for i in await berth.list_images()}
        groups = await berth.list_resource_groups()
    assert me.role == "superadmin"
    assert len(agents) >= 2 and all(a.simulated for a in agents)
    assert set(IMAGES) <= images
    assert "default" in {g.name for g in groups}


def test_admin_flow_gives_a_new_user_working_keys(berth: Client, stack: GatewayStack) -> None:
    name = f"sdk-{uuid.uuid4().hex[:6]}"
    berth.define_policy(
        name,
        PolicyLimits(total_resource_slots={"cpu": "2", "mem": "1g"}, max_concurrent_sessions=1),
    )
    berth.create_user(f"{name}@example.org", policy=name)
    berth.add_user_to_project(f"{name}@example.org", "default")
    issued = berth.issue_keypair(f"{name}@example.org", policy=name)
    assert issued.secret_key
    policy = next(p for p in berth.list_policies() if p.name == name)
    assert policy.limits.total_resource_slots == {"cpu": "2", "mem": "1073741824"}
    with Client(stack.base_url, access_key=issued.access_key, secret_key=issued.secret_key) as user:
        assert stack.wait_for(lambda: _works(user), "the new key to be known")
        assert user.whoami().username == f"{name}@example.org"
    berth.revoke_keypair(issued.access_key)
    with (
        Client(
            stack.base_url, access_key=issued.access_key, secret_key=issued.secret_key
        ) as revoked,
        pytest.raises(AuthenticationError),
    ):
        revoked.whoami()


def _works(client: Client) -> bool:
    try:
        client.whoami()
    except AuthenticationError:
        return False
    return True


def test_a_wrong_secret_and_a_missing_session(
    stack: GatewayStack, keys: dict[str, str], berth: Client
) -> None:
    wrong = Client(stack.base_url, access_key=keys["access_key"], secret_key="wrong")
    with wrong, pytest.raises(AuthenticationError) as raised:
        wrong.whoami()
    assert raised.value.code == "bad-signature"
    with pytest.raises(NotFound):
        berth.get_session(str(uuid.uuid4()))


def test_the_cli_logs_in_and_runs_a_command(
    stack: GatewayStack, keys: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BERTH_CONFIG_DIR", str(tmp_path))
    for name in ("BERTH_ENDPOINT", "BERTH_ACCESS_KEY", "BERTH_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps(keys))
    runner = CliRunner()
    login = runner.invoke(
        app, ["login", "--endpoint", stack.base_url, "--keys-file", str(keys_file)]
    )
    assert login.exit_code == 0, login.output
    # The simulated agents end a batch kernel with the code its command names (`exit N`).
    ran = runner.invoke(app, ["run", "--name", "cli-run", IMAGES[0], "--", "exit", "4"])
    assert ran.exit_code == 4, ran.output
    listed = runner.invoke(app, ["session", "ls", "--all", "--json", "--name", "cli-run"])
    assert [s["status"] for s in json.loads(listed.stdout)] == ["TERMINATED"]
    missing = runner.invoke(app, ["session", "show", str(uuid.uuid4())])
    assert missing.exit_code == 4 and "Traceback" not in missing.output
