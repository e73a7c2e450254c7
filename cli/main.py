"""The ``berth`` command: one Typer app, each command group in a module of its own.

``events`` and ``up`` work on this machine's stack directly; every other command
talks to a gateway through the SDK (:mod:`berth_sdk`), as whoever `berth login`
saved (or ``BERTH_ENDPOINT``, ``BERTH_ACCESS_KEY`` and ``BERTH_SECRET_KEY``).
"""

from __future__ import annotations

import typer

from cli.admin import admin_app
from cli.auth import login, logout, whoami
from cli.cluster import agent_app, image_app
from cli.events import events_app
from cli.run import run
from cli.sessions import session_app
from cli.stack import up

app = typer.Typer(
    name="berth",
    help="Berth: container compute sessions on an event-sourced control plane.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    epilog="Exit status: 0 done, 1 failed, 2 usage, 3 not logged in or not allowed, "
    "4 not found; `berth run` and `berth session exec` exit with the command's own code.",
)
app.command("login")(login)
app.command("logout")(logout)
app.command("whoami")(whoami)
# Everything after IMAGE is the command, options included (`berth run img ls -l`).
app.command("run", context_settings={"allow_interspersed_args": False})(run)
app.add_typer(session_app, name="session")
app.add_typer(image_app, name="image")
app.add_typer(agent_app, name="agent")
app.add_typer(admin_app, name="admin")
app.add_typer(events_app, name="events")
app.command("up")(up)
