"""One line and an exit status for every failure; login, logout and whoami."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from berth_sdk import (
    AuthenticationError,
    BerthError,
    ConfigurationError,
    Conflict,
    ConnectionFailed,
    NotFound,
    PermissionDenied,
)
from berth_sdk.config import credentials_path
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.fake_client import FakeClient


@pytest.mark.parametrize(
    ("failure", "status", "text"),
    [
        (AuthenticationError(401, "unknown-key", "unknown access key AK"), 3, "run `berth login`"),
        (PermissionDenied(403, "forbidden", "superadmins only"), 3, "superadmins only [forbidden]"),
        (ConfigurationError(0, "no-credentials", "no credentials"), 3, "no credentials"),
        (NotFound(404, "not-found", "no such session"), 4, "no such session"),
        (Conflict(409, "quota-exceeded", "over quota"), 1, "over quota [quota-exceeded]"),
        (ConnectionFailed(0, "unreachable", "cannot reach http://gw"), 1, "is the gateway running"),
        (BerthError(500, "internal", "boom"), 1, "boom"),
        (RuntimeError("surprise"), 1, "unexpected RuntimeError: surprise"),
    ],
)
def test_failures_are_one_line_with_their_exit_status(
    fake: FakeClient, runner: CliRunner, failure: Exception, status: int, text: str
) -> None:
    fake.failures["whoami"] = failure
    result = runner.invoke(app, ["whoami"])
    assert result.exit_code == status
    assert result.stderr.startswith("error: ") and text in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert fake.closed


def test_listings_fail_the_same_way(fake: FakeClient, runner: CliRunner) -> None:
    fake.failures["list_agents"] = PermissionDenied(403, "forbidden", "no")
    result = runner.invoke(app, ["agent", "ls", "--json"])
    assert result.exit_code == 3
    assert result.stdout == ""


def test_typer_usage_errors_exit_2(fake: FakeClient, runner: CliRunner) -> None:
    result = runner.invoke(app, ["session", "ls", "--limit", "zero"])
    assert result.exit_code == 2


def test_login_checks_the_keys_then_saves_them_privately(
    fake: FakeClient, runner: CliRunner
) -> None:
    result = runner.invoke(
        app, ["login", "--endpoint", "http://gw:8480/"], input="AKTEST\ns3cret\n"
    )
    assert result.exit_code == 0, result.output
    assert "logged in to http://gw:8480 as ann (user)" in result.stdout
    assert fake.credentials is not None and fake.credentials.secret_key == "s3cret"
    path = credentials_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved == {"endpoint": "http://gw:8480", "access_key": "AKTEST", "secret_key": "s3cret"}
    assert "s3cret" not in result.stdout  # the prompt hides it


def test_a_refused_login_saves_nothing(fake: FakeClient, runner: CliRunner) -> None:
    fake.failures["whoami"] = AuthenticationError(
        401, "bad-signature", "the signature does not match"
    )
    result = runner.invoke(
        app, ["login", "--endpoint", "http://gw", "--access-key", "AK", "--secret-key", "bad"]
    )
    assert result.exit_code == 3
    assert not credentials_path().exists()


def test_login_reads_a_keys_file(fake: FakeClient, runner: CliRunner, tmp_path: Path) -> None:
    keys = tmp_path / "admin-credentials.json"
    keys.write_text(json.dumps({"access_key": "AKADMIN", "secret_key": "SKADMIN"}))
    result = runner.invoke(app, ["login", "--endpoint", "http://gw", "--keys-file", str(keys)])
    assert result.exit_code == 0, result.output
    assert fake.credentials is not None and fake.credentials.access_key == "AKADMIN"


def test_logout_removes_the_file_and_says_so_twice(fake: FakeClient, runner: CliRunner) -> None:
    runner.invoke(
        app, ["login", "--endpoint", "http://gw", "--access-key", "a", "--secret-key", "b"]
    )
    first = runner.invoke(app, ["logout"])
    second = runner.invoke(app, ["logout"])
    assert "logged out" in first.stdout and "not logged in" in second.stdout
    assert first.exit_code == second.exit_code == 0


def test_whoami_json(fake: FakeClient, runner: CliRunner) -> None:
    result = runner.invoke(app, ["whoami", "--json"])
    assert json.loads(result.stdout)["username"] == "ann"
