"""``berth up``: the embedded single-node stack, and its main job.

The main job is the demo: real sessions requested, placed on this machine's Podman
agent, run and ended (one of them with ``berth run`` through the REST API), with
their events on the stream and in the read model, all shown live. The stack then
stays up until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer


def up(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where all state lives (event store, JetStream, read models, logs). "
            "Default: $BERTH_DATA_DIR or ./.berth",
            show_default=False,
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Run the demo once the stack is up.")
    ] = True,
    exit_after_demo: Annotated[
        bool,
        typer.Option(
            "--exit-after-demo",
            help="Stop everything after the demo; exit 0 only if it saw every session "
            "run to its end on the stream and in the read model.",
        ),
    ] = False,
) -> None:
    """Start the embedded stack: nats-server, the manager (with the relay), the projections,
    the gateway (REST and GraphQL) and this machine's Podman agent."""
    if data_dir is not None:
        # Everything below, and every child process, reads the data directory from here.
        os.environ["BERTH_DATA_DIR"] = str(data_dir.expanduser().resolve())
    if exit_after_demo and not demo:
        raise typer.BadParameter("--exit-after-demo needs the demo", param_hint="--no-demo")

    # Imported here so that ``berth --help`` stays quick.
    from deploy.demo import run_demo
    from deploy.stack import MainJob, Stack, StackSettings, run_stack

    async def demo_job(stack: Stack) -> str | None:
        return await run_demo(stack, keep_tailing=not exit_after_demo)

    job: MainJob | None = demo_job if demo else None
    code = asyncio.run(run_stack(StackSettings.from_env(), job, stop_after_job=exit_after_demo))
    raise typer.Exit(code)
