"""``berth admin …`` and the cluster listings."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.fake_client import FakeClient


def test_keypair_issue_shows_the_secret_once(fake: FakeClient, runner: CliRunner) -> None:
    result = runner.invoke(app, ["admin", "keypair", "issue", "ann", "--policy", "gpu"])
    assert result.exit_code == 0
    assert "access key: AKNEW" in result.stdout and "secret key: SKNEW" in result.stdout
    assert "will not show it again" in result.stderr
    assert fake.called("issue_keypair") == [(("ann", "gpu"), {})]


def test_policy_create_builds_the_limits(fake: FakeClient, runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        [
            "admin",
            "policy",
            "create",
            "small",
            "--slots",
            "cpu=4,mem=8g",
            "--max-concurrent",
            "2",
            "--group",
            "default",
        ],
    )
    assert result.exit_code == 0, result.output
    ((name, limits), _) = fake.called("define_policy")[0]
    assert name == "small"
    assert limits.total_resource_slots == {"cpu": "4", "mem": "8g"}
    assert limits.max_concurrent_sessions == 2 and limits.max_pending_sessions is None
    assert limits.allowed_resource_groups == ["default"]


def test_user_set_needs_something_to_change(fake: FakeClient, runner: CliRunner) -> None:
    result = runner.invoke(app, ["admin", "user", "set", "ann"])
    assert result.exit_code == 2
    assert not fake.called("change_user")
    runner.invoke(app, ["admin", "user", "deactivate", "ann"])
    assert fake.called("change_user") == [(("ann",), {"active": False})]


def test_every_listing_has_json(fake: FakeClient, runner: CliRunner) -> None:
    for command in (
        ["image", "ls"],
        ["agent", "ls"],
        ["admin", "domain", "ls"],
        ["admin", "project", "ls"],
        ["admin", "user", "ls"],
        ["admin", "keypair", "ls"],
        ["admin", "policy", "ls"],
        ["admin", "group", "ls"],
    ):
        result = runner.invoke(app, [*command, "--json"])
        assert result.exit_code == 0, (command, result.output)
        assert json.loads(result.stdout) == []
        empty = runner.invoke(app, command)
        assert empty.exit_code == 0 and "(none)" in empty.stderr
