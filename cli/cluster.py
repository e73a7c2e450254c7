"""``berth image ls``, ``berth agent ls`` and ``berth admin group …``: what the cluster offers.

Images and agents can be seen by every user; resource groups (the schedulers
that own agents) are created and changed by administrators.
"""

from __future__ import annotations

from typing import Annotated

import typer
from berth_sdk import ResourceGroupSpec
from rich.text import Text

from cli.connect import UsageError, connected, reported
from cli.output import JsonOption, emit_json, out, slots, status, table

image_app = typer.Typer(help="Session images the agents hold.", no_args_is_help=True)
agent_app = typer.Typer(help="The nodes that run sessions.", no_args_is_help=True)
group_app = typer.Typer(
    help="Resource groups: a scheduler and the agents it places sessions on.",
    no_args_is_help=True,
)


@image_app.command("ls")
def list_images(as_json: JsonOption = False) -> None:
    """List the images sessions can use, and how many agents hold each."""
    with reported(), connected() as berth:
        images = berth.list_images()
        if as_json:
            emit_json(images)
            return
        table(
            ["NAME", "KIND", "LANGUAGE", "AGENTS"],
            ([i.name, i.kind or "-", i.language or "-", str(i.agents)] for i in images),
        )


@agent_app.command("ls")
def list_agents(as_json: JsonOption = False) -> None:
    """List the agents with their capacity and what is allocated on them."""
    with reported(), connected() as berth:
        agents = berth.list_agents()
        if as_json:
            emit_json(agents)
            return
        table(
            ["ID", "NAME", "GROUP", "STATUS", "CAPACITY", "ALLOCATED", "KERNELS", "IMAGES"],
            (
                [
                    a.id,
                    a.name + (" (simulated)" if a.simulated else ""),
                    a.resource_group,
                    status(a.status),
                    slots(a.capacity),
                    slots(a.allocated),
                    str(a.kernels),
                    str(len(a.images)),
                ]
                for a in agents
            ),
        )


QueueOrderOption = Annotated[
    str | None,
    typer.Option(help="fifo, lifo, drf or priority (default: fifo).", show_default=False),
]
SelectorOption = Annotated[
    str | None,
    typer.Option(
        "--agent-selector", help="concentrated, dispersed or roundrobin (default: concentrated)."
    ),
]
AttemptsOption = Annotated[
    int | None,
    typer.Option(min=1, help="Scheduling attempts before a session is deprioritised (default: 3)."),
]
PendingTimeoutOption = Annotated[
    float | None,
    typer.Option(help="Seconds a session may wait before it is cancelled (default: no limit)."),
]


@group_app.command("ls")
def list_groups(as_json: JsonOption = False) -> None:
    """List the resource groups and their scheduling policy."""
    with reported(), connected() as berth:
        groups = berth.list_resource_groups()
        if as_json:
            emit_json(groups)
            return
        table(
            ["NAME", "QUEUE", "SELECTOR", "ATTEMPTS", "PENDING TIMEOUT", "AGENTS", "WAITING"],
            (
                [
                    g.name,
                    g.queue_order or "-",
                    g.agent_selector or "-",
                    "-" if g.max_attempts is None else str(g.max_attempts),
                    "-" if g.pending_timeout is None else f"{g.pending_timeout:g}s",
                    f"{g.schedulable_agents}/{g.agents}",
                    str(g.pending),
                ]
                for g in groups
            ),
        )


@group_app.command("create")
def create_group(
    name: Annotated[str, typer.Argument(help="The new group's name.")],
    queue_order: QueueOrderOption = None,
    agent_selector: SelectorOption = None,
    max_attempts: AttemptsOption = None,
    pending_timeout: PendingTimeoutOption = None,
) -> None:
    """Create a resource group (superadmin)."""
    with reported(), connected() as berth:
        berth.create_resource_group(
            name,
            ResourceGroupSpec(
                queue_order=queue_order,
                agent_selector=agent_selector,
                max_attempts=max_attempts,
                pending_timeout=pending_timeout,
            ),
        )
        out.print(Text(f"created resource group {name}"))


@group_app.command("set")
def change_group(
    name: Annotated[str, typer.Argument(help="The group to change.")],
    queue_order: QueueOrderOption = None,
    agent_selector: SelectorOption = None,
    max_attempts: AttemptsOption = None,
    pending_timeout: PendingTimeoutOption = None,
) -> None:
    """Change a resource group's scheduling policy (what is not given stays as it is)."""
    with reported():
        spec = ResourceGroupSpec(
            queue_order=queue_order,
            agent_selector=agent_selector,
            max_attempts=max_attempts,
            pending_timeout=pending_timeout,
        )
        if spec == ResourceGroupSpec():
            raise UsageError("nothing to change: give at least one option")
        with connected() as berth:
            berth.change_resource_group(name, spec)
        out.print(Text(f"changed resource group {name}"))
