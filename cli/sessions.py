"""``berth session …``: create, list, inspect, follow, exec into and destroy compute sessions.

A session is named on the command line by its id or by its name; a name that
several sessions share is refused with their ids (names need not be unique,
ids are).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer
from berth_sdk import BerthError, Client, NotFound, SessionSpec
from rich.text import Text

from cli import arguments
from cli.connect import UsageError, connected, exit_status, reported
from cli.failures import say_error
from cli.output import JsonOption, details, emit_json, err, out, size, slots, status, table, when
from cli.progress import await_start
from cli.run import DEFAULT_RESOURCES, EnvOption, GroupOption, ProjectOption, ResourcesOption

session_app = typer.Typer(
    help="Compute sessions: create, list, inspect, follow, exec into, destroy.",
    no_args_is_help=True,
)

SessionArg = Annotated[str, typer.Argument(metavar="SESSION", help="Session id or name.")]
LIVE = ["PENDING", "SCHEDULED", "PREPARING", "RUNNING", "TERMINATING"]


def resolve(berth: Client, reference: str) -> str:
    """The id of the session ``reference`` names (an id, or the name of one session)."""
    if arguments.is_session_id(reference):
        return reference
    named = berth.list_sessions(name=reference, limit=20).items
    live = [s for s in named if not s.ended]
    if len(live) == 1 or len(named) == 1:
        return (live or named)[0].id
    if not named:
        raise NotFound(404, "not-found", f"no session named {reference!r}")
    ids = ", ".join(s.id for s in (live or named)[:5])
    raise UsageError(f"several sessions are named {reference!r} ({ids}): give the id")


@session_app.command()
def create(
    image: Annotated[str, typer.Argument(help="The session image, e.g. berth-python.")],
    name: Annotated[str, typer.Option("--name", "-n", help="The session's name.")],
    session_type: Annotated[
        str, typer.Option("--type", "-t", help="interactive or batch.")
    ] = "interactive",
    command: Annotated[
        str | None, typer.Option("--command", "-c", help="Startup command (a shell line).")
    ] = None,
    resources: ResourcesOption = None,
    env: EnvOption = None,
    mount: Annotated[
        list[str] | None, typer.Option(help="SOURCE:TARGET or SOURCE:TARGET:ro (repeatable).")
    ] = None,
    cluster_size: Annotated[
        int | None, typer.Option(min=1, help="Containers, placed together.")
    ] = None,
    priority: Annotated[
        int | None, typer.Option(help="Higher runs first (priority queues).")
    ] = None,
    depends_on: Annotated[
        list[str] | None, typer.Option(help="A session id that must succeed first (repeatable).")
    ] = None,
    starts_at: Annotated[
        datetime | None, typer.Option(help="Not before this time (local time unless it says).")
    ] = None,
    agent: Annotated[str | None, typer.Option(help="Place it on this agent only.")] = None,
    requeue: Annotated[
        bool,
        typer.Option(
            "--requeue-on-agent-loss", help="Batch: start again elsewhere if the agent is lost."
        ),
    ] = False,
    timeout: Annotated[float | None, typer.Option(help="Batch: seconds it may run.")] = None,
    group: GroupOption = None,
    project: ProjectOption = None,
    wait: Annotated[
        bool, typer.Option("--wait", "-w", help="Wait until it runs (or ends).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Ask for a session; prints its id as soon as the request is accepted."""
    with reported():
        spec = SessionSpec(
            name=name,
            image=image,
            session_type=session_type,
            startup_command=command,
            resources=arguments.resources(resources or [DEFAULT_RESOURCES]),
            environ=arguments.environ(env or []),
            mounts=arguments.mounts(mount or []),
            cluster_size=cluster_size,
            priority=priority,
            depends_on=depends_on or [],
            starts_at=starts_at.astimezone() if starts_at else None,
            designated_agent=agent,
            requeue_on_agent_loss=requeue or None,
            batch_timeout=timeout,
            resource_group=group,
            project=project,
        )
        with connected() as berth:
            accepted = berth.create_session(spec)
            current = await_start(berth, accepted.session_id, f"session {name}") if wait else None
        if as_json:
            emit_json(current or accepted)
        elif current is not None:
            out.print(Text(f"{current.id} ") + status(current.status))
        else:
            out.print(accepted.session_id)


@session_app.command("ls")
def list_sessions(
    status_filter: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", help="Only these statuses, e.g. running,pending."),
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", "-a", help="Ended sessions too.")] = False,
    project: Annotated[str | None, typer.Option(help="Only this project's.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this access key's.")] = None,
    name: Annotated[str | None, typer.Option(help="Only sessions with this name.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List sessions (those not ended yet, unless --all or --status says otherwise)."""
    with reported(), connected() as berth:
        wanted = arguments.statuses(status_filter or []) or (None if show_all else LIVE)
        found = []
        for session in berth.iter_sessions(
            statuses=wanted, project=project, owner=owner, name=name, page_size=min(limit, 100)
        ):
            found.append(session)
            if len(found) >= limit:
                break
        if as_json:
            emit_json(found)
            return
        table(
            ["ID", "NAME", "STATUS", "IMAGE", "TYPE", "RESOURCES", "CREATED"],
            (
                [
                    s.id,
                    s.name,
                    status(s.status),
                    s.image,
                    s.session_type,
                    slots(s.resources),
                    when(s.created_at),
                ]
                for s in found
            ),
        )


@session_app.command()
def show(session: SessionArg, as_json: JsonOption = False) -> None:
    """Show one session."""
    with reported(), connected() as berth:
        found = berth.get_session(resolve(berth, session))
        if as_json:
            emit_json(found)
            return
        fields: list[tuple[str, str | Text]] = [
            ("id", found.id),
            ("status", status(found.status) + Text(f"  {found.status_reason}", style="dim")),
            ("image", found.image),
            ("type", f"{found.session_type}, {found.cluster_size} container(s)"),
            ("resources", slots(found.resources)),
            ("owner", found.owner_access_key or "-"),
            ("project", f"{found.project or '-'} (domain {found.domain or '-'})"),
            ("resource group", found.resource_group or "-"),
            ("agents", ", ".join(found.agents) or "-"),
            ("created", when(found.created_at)),
            ("updated", when(found.updated_at)),
        ]
        if found.exit_code is not None:
            fields.append(("exit code", f"{found.exit_code} ({found.result or '-'})"))
        details(f"session {found.name}", fields)


@session_app.command()
def logs(
    session: SessionArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until it ends.")
    ] = False,
    offset: Annotated[
        int, typer.Option(help="Start at this byte (negative: this many bytes from the end).")
    ] = 0,
) -> None:
    """Print a session's output (stdout and stderr, as the container wrote them)."""
    with reported(), connected() as berth:
        session_id = resolve(berth, session)
        if follow:
            for text in berth.follow_logs(session_id, offset):
                sys.stdout.write(text)
                sys.stdout.flush()
            return
        # One answer carries a bounded slice: read on until there is no more.
        while True:
            chunk = berth.session_logs(session_id, offset)
            sys.stdout.write(chunk.data)
            if not chunk.data or chunk.next_offset == offset:
                break
            offset = chunk.next_offset
        sys.stdout.flush()


@session_app.command("exec")
def exec_command(
    session: SessionArg,
    command: Annotated[list[str], typer.Argument(help="The command and its arguments (after --).")],
    timeout: Annotated[float, typer.Option(help="Seconds the command may take.")] = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Run a command in a running session; prints its output and exits with its code."""
    with reported(), connected() as berth:
        result = berth.exec(resolve(berth, session), command, timeout)
        if as_json:
            emit_json(result)
            return
        sys.stdout.write(result.output)
        sys.stdout.flush()
        if result.truncated:
            err.print("(output cut: it was longer than the agent returns at once)", style="dim")
        raise typer.Exit(1 if result.exit_code is None else result.exit_code)


@session_app.command("rm")
def destroy(
    sessions: Annotated[list[str], typer.Argument(metavar="SESSION…", help="Ids or names.")],
) -> None:
    """Destroy sessions (their containers are stopped; they end as TERMINATED or CANCELLED)."""
    worst = 0
    with reported(), connected() as berth:
        for reference in sessions:
            try:
                accepted = berth.destroy_session(resolve(berth, reference))
            except (BerthError, UsageError) as exc:
                say_error(f"{reference}: {exc}")
                worst = worst or exit_status(exc)
                continue
            out.print(Text(f"{accepted.session_id} ") + status(accepted.status))
    raise typer.Exit(worst)


@session_app.command()
def history(session: SessionArg, as_json: JsonOption = False) -> None:
    """Every status a session went through, with the reason."""
    with reported(), connected() as berth:
        changes = berth.session_history(resolve(berth, session))
        if as_json:
            emit_json(changes)
            return
        table(
            ["AT", "STATUS", "REASON"],
            ([when(c.at), status(c.status), c.reason] for c in changes),
        )


@session_app.command()
def telemetry(session: SessionArg, as_json: JsonOption = False) -> None:
    """The latest CPU, memory and accelerator use of a session's containers."""
    with reported(), connected() as berth:
        usage = berth.session_telemetry(resolve(berth, session))
        if as_json:
            emit_json(usage)
            return
        table(
            ["KERNEL", "CPU %", "MEMORY", "LIMIT", "ACCELERATORS"],
            (
                [
                    k.kernel_id,
                    f"{k.cpu_percent:.1f}",
                    size(str(k.mem_bytes)),
                    size(str(k.mem_limit_bytes)),
                    _accelerators(k.accelerators),
                ]
                for k in usage
            ),
        )


def _accelerators(devices: dict[str, dict[str, float]]) -> str:
    shown = [
        f"{device} {values.get('util_percent', 0.0):.0f}%"
        for device, values in sorted(devices.items())
    ]
    return ", ".join(shown) or "-"
