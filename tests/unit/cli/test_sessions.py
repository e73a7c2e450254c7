"""``berth session …``: listings as tables and JSON, names resolved, exit codes passed on."""

from __future__ import annotations

import json

from berth_sdk import ExecResult
from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.fake_client import SID, FakeClient, make_session

OTHER = "22222222-2222-2222-2222-222222222222"


def test_ls_json_is_one_document_without_colour(fake: FakeClient, runner: CliRunner) -> None:
    fake.sessions = [make_session("RUNNING"), make_session("PENDING", id=OTHER, name="s2")]
    result = runner.invoke(app, ["session", "ls", "--json"], color=True)
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert [s["id"] for s in listed] == [SID, OTHER]
    assert listed[0]["resources"] == {"cpu": "1", "mem": "268435456"}
    assert listed[0]["created_at"] == "2026-11-27T10:00:00Z"
    assert "\x1b[" not in result.stdout


def test_ls_shows_live_sessions_by_default_and_all_on_request(
    fake: FakeClient, runner: CliRunner
) -> None:
    fake.sessions = [make_session("RUNNING")]
    result = runner.invoke(app, ["session", "ls"])
    assert result.exit_code == 0
    assert SID in result.stdout and "RUNNING" in result.stdout and "mem=256m" in result.stdout
    runner.invoke(app, ["session", "ls", "--all"])
    runner.invoke(app, ["session", "ls", "-s", "error,cancelled"])
    live, everything, chosen = (k["statuses"] for _, k in fake.called("iter_sessions"))
    assert "RUNNING" in live and "TERMINATED" not in live
    assert everything is None
    assert chosen == ["ERROR", "CANCELLED"]


def test_ls_stops_at_the_limit(fake: FakeClient, runner: CliRunner) -> None:
    fake.sessions = [
        make_session("RUNNING", id=f"{i:08d}-0000-0000-0000-000000000000") for i in range(5)
    ]
    result = runner.invoke(app, ["session", "ls", "--limit", "2", "--json"])
    assert len(json.loads(result.stdout)) == 2


def test_a_session_can_be_named_by_its_name(fake: FakeClient, runner: CliRunner) -> None:
    fake.sessions = [
        make_session("TERMINATED", name="train"),
        make_session("RUNNING", id=OTHER, name="train"),
    ]
    result = runner.invoke(app, ["session", "rm", "train"])
    assert result.exit_code == 0, result.output
    assert fake.called("destroy_session") == [((OTHER,), {})]  # the live one of the two
    assert f"{OTHER} TERMINATING" in result.stdout


def test_an_ambiguous_name_is_a_usage_error(fake: FakeClient, runner: CliRunner) -> None:
    fake.sessions = [make_session("RUNNING", name="x"), make_session("RUNNING", id=OTHER, name="x")]
    result = runner.invoke(app, ["session", "show", "x"])
    assert result.exit_code == 2
    assert "several sessions are named 'x'" in result.stderr and OTHER in result.stderr


def test_an_unknown_name_is_not_found(fake: FakeClient, runner: CliRunner) -> None:
    result = runner.invoke(app, ["session", "logs", "nope"])
    assert result.exit_code == 4
    assert result.stderr.startswith("error: no session named 'nope'")


def test_rm_goes_on_after_a_failure_and_exits_with_it(fake: FakeClient, runner: CliRunner) -> None:
    result = runner.invoke(app, ["session", "rm", "missing", SID])
    assert result.exit_code == 4
    assert "error: missing: no session named 'missing'" in result.stderr
    assert fake.called("destroy_session") == [((SID,), {})]


def test_exec_prints_the_output_and_exits_with_its_code(
    fake: FakeClient, runner: CliRunner
) -> None:
    fake.exec_result = ExecResult(exit_code=7, output="partial\n", truncated=True)
    result = runner.invoke(
        app, ["session", "exec", SID, "--timeout", "5", "--", "sh", "-c", "exit 7"]
    )
    assert result.exit_code == 7
    assert result.stdout == "partial\n"
    assert "output cut" in result.stderr
    assert fake.called("exec") == [((SID, ["sh", "-c", "exit 7"], 5.0), {})]


def test_logs_prints_the_output_as_it_is(fake: FakeClient, runner: CliRunner) -> None:
    fake.output = ["a\n", "b\n"]
    once = runner.invoke(app, ["session", "logs", SID])
    followed = runner.invoke(app, ["session", "logs", "-f", SID])
    assert once.stdout == followed.stdout == "a\nb\n"


def test_create_prints_the_id_or_waits(fake: FakeClient, runner: CliRunner) -> None:
    plain = runner.invoke(
        app,
        [
            "session",
            "create",
            "berth-python",
            "-n",
            "nb",
            "-r",
            "cpu=2",
            "--mount",
            "data:/data:ro",
        ],
    )
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.strip() == SID
    ((spec,), _) = fake.called("create_session")[0]
    assert (spec.session_type, spec.resources, spec.mounts[0].read_only) == (
        "interactive",
        {"cpu": "2"},
        True,
    )
    waited = runner.invoke(
        app, ["session", "create", "berth-python", "-n", "nb", "--wait", "--json"]
    )
    assert json.loads(waited.stdout)["status"] == "RUNNING"


def test_a_bad_mount_is_a_usage_error(fake: FakeClient, runner: CliRunner) -> None:
    result = runner.invoke(app, ["session", "create", "img", "-n", "x", "--mount", "onlyone"])
    assert result.exit_code == 2
    assert "SOURCE:TARGET" in result.stderr


def test_history_as_a_table(fake: FakeClient, runner: CliRunner) -> None:
    fake.timeline = [make_session("PENDING", status_reason="requested"), make_session("RUNNING")]
    result = runner.invoke(app, ["session", "history", SID])
    assert result.exit_code == 0
    assert "requested" in result.stdout and "RUNNING" in result.stdout
