"""Build failures, and running one external step of a build so that a failure says why."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import IO

# How much of a failed tool's output a BuildError carries: enough to see the cause, not the
# whole apt log.
_TAIL_LINES = 25


class BuildError(RuntimeError):
    """An image could not be built; the message says which step failed and why."""


def run_step(
    command: Sequence[str],
    *,
    what: str,
    stdin: IO[bytes] | None = None,
    verbose: bool = False,
) -> str:
    """Runs a tool and returns its standard output.

    Quiet by default: the tool's output is shown only when it fails. With ``verbose`` it goes
    straight to the terminal as it comes (long steps such as apt then show their progress).
    """
    try:
        if verbose:
            subprocess.run(command, stdin=stdin, check=True)
            return ""
        result = subprocess.run(command, stdin=stdin, capture_output=True, check=True)
    except FileNotFoundError as exc:
        raise BuildError(f"{what}: {command[0]} is not installed") from exc
    except subprocess.CalledProcessError as exc:
        raise BuildError(_failure(what, exc)) from exc
    return result.stdout.decode(errors="replace")


def _failure(what: str, exc: subprocess.CalledProcessError) -> str:
    message = f"{what} failed (exit status {exc.returncode})"
    output = b"\n".join(part for part in (exc.stdout, exc.stderr) if part)
    lines = output.decode(errors="replace").strip().splitlines()
    if not lines:
        return message
    tail = "\n".join(f"  | {line}" for line in lines[-_TAIL_LINES:])
    return f"{message}:\n{tail}"
