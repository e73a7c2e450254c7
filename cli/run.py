"""``berth run IMAGE [--] COMMAND…``: a batch session in the foreground, like ``srun``.

It asks for a batch session whose startup command is COMMAND (quoted for the
shell with ``shlex.join``), shows its way to RUNNING on stderr, streams its
output to stdout, and exits with the command's exit code. A session that ends
in ERROR or CANCELLED prints why on stderr and exits 1. Ctrl-C destroys the
session (exit 130); ``--detach`` only prints the new session's id.
"""

from __future__ import annotations

import shlex
import sys
import uuid
from typing import Annotated

import typer
from berth_sdk import BerthError, Client, Session, SessionSpec, SessionStatus
from rich.text import Text

from cli import arguments
from cli.connect import EXIT_FAILED, UsageError, connected, reported
from cli.output import err, out
from cli.progress import await_start

#: what a session gets when the command line names no resources (the gateway needs some)
DEFAULT_RESOURCES = "cpu=1,mem=256m"

ResourcesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--resources",
        "-r",
        help=f"Per container, e.g. cpu=2,mem=1g (repeatable; default: {DEFAULT_RESOURCES}).",
        show_default=False,
    ),
]
EnvOption = Annotated[
    list[str] | None,
    typer.Option("--env", "-e", help="K=V in the session (repeatable).", show_default=False),
]
GroupOption = Annotated[
    str | None,
    typer.Option("--group", "-g", help="Resource group (default: the group named default)."),
]
ProjectOption = Annotated[
    str | None,
    typer.Option(
        "--project", "-p", help="Project to account to (default: the project named default)."
    ),
]


def exit_code_of(session: Session) -> int:
    """What ``berth run`` exits with for a session that has ended."""
    if session.status != SessionStatus.TERMINATED:
        return EXIT_FAILED
    if session.exit_code is not None:
        return session.exit_code
    return EXIT_FAILED if session.result == "failure" else 0


def _stream_output(berth: Client, session_id: str) -> None:
    for text in berth.follow_logs(session_id):
        sys.stdout.write(text)
        sys.stdout.flush()


def _finish(session: Session, label: str) -> int:
    code = exit_code_of(session)
    if session.status != SessionStatus.TERMINATED:
        reason = session.status_reason or "no reason given"
        err.print(Text(f"{label} {session.status}: ", style="bold red") + Text(reason))
    elif code != 0:
        err.print(Text(f"{label} exited with {code}", style="dim"))
    return code


def _destroy_quietly(berth: Client, session_id: str, label: str) -> None:
    try:
        berth.destroy_session(session_id)
    except BerthError as exc:
        err.print(f"interrupted; could not destroy {label}: {exc.message}")
        return
    err.print(f"interrupted: destroyed {label}")


def run(
    image: Annotated[str, typer.Argument(help="The session image, e.g. berth-small.")],
    command: Annotated[
        list[str] | None,
        typer.Argument(help="The command and its arguments (after --, or after IMAGE)."),
    ] = None,
    resources: ResourcesOption = None,
    env: EnvOption = None,
    name: Annotated[str | None, typer.Option(help="Session name (default: run-<random>).")] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds the command may run before it is stopped.")
    ] = None,
    group: GroupOption = None,
    project: ProjectOption = None,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Print the session id and return at once.")
    ] = False,
) -> None:
    """Run COMMAND in a new batch session: show it start, stream its output, exit with its code."""
    with reported():
        # Option parsing stops at IMAGE, so a `--` after it arrives as an argument.
        if command and command[0] == "--":
            command = command[1:]
        if not command:
            raise UsageError("no command given: berth run IMAGE -- COMMAND [ARG…]")
        spec = SessionSpec(
            name=name or f"run-{uuid.uuid4().hex[:8]}",
            image=image,
            session_type="batch",
            startup_command=shlex.join(command),
            resources=arguments.resources(resources or [DEFAULT_RESOURCES]),
            environ=arguments.environ(env or []),
            batch_timeout=timeout,
            resource_group=group,
            project=project,
        )
        with connected() as berth:
            session_id = berth.create_session(spec).session_id
            if detach:
                out.print(session_id)
                return
            label = f"session {spec.name}"
            try:
                started = await_start(berth, session_id, label)
                if not started.ended or started.status == SessionStatus.TERMINATED:
                    _stream_output(berth, session_id)
                ended = berth.get_session(session_id)
            except KeyboardInterrupt:
                _destroy_quietly(berth, session_id, label)
                raise typer.Exit(130) from None
        raise typer.Exit(_finish(ended, label))
