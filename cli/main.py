"""The ``berth`` command: one Typer app, each command group in a module of its own."""

from __future__ import annotations

import typer

from cli.events import events_app
from cli.stack import up

app = typer.Typer(
    name="berth",
    help="Berth: container compute sessions on an event-sourced control plane.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(events_app, name="events")
app.command("up")(up)
