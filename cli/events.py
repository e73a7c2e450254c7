"""``berth events …``: audit and replay tooling (tail, history, export, import, rebuild, verify)."""

from __future__ import annotations

import typer

events_app = typer.Typer(help="Inspect, export, replay and verify the event log.", no_args_is_help=True)
