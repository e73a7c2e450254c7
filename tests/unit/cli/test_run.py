"""``berth run``: a batch session in the foreground, with the command's exit code."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app
from tests.unit.cli.fake_client import SID, FakeClient, make_session


def test_run_streams_the_output_and_exits_with_the_command_code(
    fake: FakeClient, runner: CliRunner
) -> None:
    fake.timeline = [
        make_session("PENDING"),
        make_session("SCHEDULED"),
        make_session("PREPARING"),
        make_session("RUNNING"),
        make_session("TERMINATED", exit_code=3, result="failure"),
    ]
    fake.output = ["hello ", "world\n"]
    result = runner.invoke(
        app,
        [
            "run",
            "-r",
            "cpu=1,mem=256m",
            "-e",
            "A=1",
            "--name",
            "job",
            "berth-small",
            "--",
            "sh",
            "-c",
            "echo 'hello world'; exit 3",
        ],
    )
    assert result.exit_code == 3, result.output
    assert result.stdout == "hello world\n"
    # progress on stderr (plain lines off a terminal), each status once
    for status in ("PENDING", "SCHEDULED", "PREPARING", "RUNNING"):
        assert f"session job: {status}" in result.stderr
    assert "exited with 3" in result.stderr
    ((spec,), _) = fake.called("create_session")[0]
    assert spec.session_type == "batch"
    assert spec.startup_command == "sh -c 'echo '\"'\"'hello world'\"'\"'; exit 3'"
    assert spec.resources == {"cpu": "1", "mem": "256m"}
    assert spec.environ == {"A": "1"}
    assert spec.name == "job"


def test_everything_after_the_image_is_the_command(fake: FakeClient, runner: CliRunner) -> None:
    fake.timeline = [make_session("TERMINATED", exit_code=0, result="success")]
    result = runner.invoke(app, ["run", "berth-small", "ls", "-l", "--color"])
    assert result.exit_code == 0, result.output
    ((spec,), _) = fake.called("create_session")[0]
    assert spec.startup_command == "ls -l --color"
    assert spec.name.startswith("run-")


def test_a_session_that_errors_prints_why_and_exits_1(fake: FakeClient, runner: CliRunner) -> None:
    fake.timeline = [
        make_session("PENDING"),
        make_session("ERROR", status_reason="no agent of group default has image berth-small"),
    ]
    result = runner.invoke(app, ["run", "berth-small", "--", "true"])
    assert result.exit_code == 1
    assert "ERROR" in result.stderr and "no agent of group default" in result.stderr
    assert result.stdout == ""
    assert not fake.called("follow_logs")  # it never ran: nothing to stream


def test_cancelled_exits_1(fake: FakeClient, runner: CliRunner) -> None:
    fake.timeline = [make_session("CANCELLED", status_reason="dependency failed")]
    result = runner.invoke(app, ["run", "berth-small", "true"])
    assert result.exit_code == 1
    assert "dependency failed" in result.stderr


def test_detach_prints_the_id_and_waits_for_nothing(fake: FakeClient, runner: CliRunner) -> None:
    result = runner.invoke(app, ["run", "-d", "berth-small", "sleep", "60"])
    assert result.exit_code == 0
    assert result.stdout.strip() == SID
    assert not fake.called("watch_session")


def test_bad_resources_are_a_usage_error_before_anything_is_sent(
    fake: FakeClient, runner: CliRunner
) -> None:
    result = runner.invoke(app, ["run", "-r", "cpu", "berth-small", "true"])
    assert result.exit_code == 2
    assert "error: resource 'cpu' is not NAME=AMOUNT" in result.stderr
    assert "Traceback" not in result.output
    assert not fake.calls


def test_no_command_is_a_usage_error(fake: FakeClient, runner: CliRunner) -> None:
    result = runner.invoke(app, ["run", "berth-small"])
    assert result.exit_code == 2
    assert "no command given" in result.stderr


def test_ctrl_c_destroys_the_session(fake: FakeClient, runner: CliRunner) -> None:
    fake.timeline = [make_session("RUNNING")]

    def interrupted(session_id: str, offset: int = 0) -> object:
        raise KeyboardInterrupt

    fake.follow_logs = interrupted  # type: ignore[method-assign]
    result = runner.invoke(app, ["run", "berth-small", "sleep", "60"])
    assert result.exit_code == 130
    assert fake.called("destroy_session") == [((SID,), {})]
    assert "destroyed" in result.stderr
