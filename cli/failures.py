"""How a command ends when something fails: one ``error:`` line and an exit status.

Both the gateway commands and the event-store commands end this way; each says
what its own failures mean (:func:`reported_as`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.text import Text

from cli.output import err

#: a failure's one-line message and the exit status it ends the command with
Describe = Callable[[Exception], tuple[str, int]]


def say_error(message: str) -> None:
    err.print(Text("error: ", style="bold red") + Text(message))


@contextmanager
def reported_as(describe: Describe) -> Iterator[None]:
    """Turn every failure into one ``error:`` line (``BERTH_DEBUG=1`` shows the traceback)."""
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except BrokenPipeError:
        # The reader went away (``berth session ls | head``): stop quietly, with the
        # status rich gives the same case. Stdout goes to nothing so that the
        # interpreter's last flush is quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(1) from None
    except Exception as exc:
        if os.environ.get("BERTH_DEBUG"):
            raise
        message, status = describe(exc)
        say_error(message)
        raise typer.Exit(status) from None
