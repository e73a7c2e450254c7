"""The embedded stack's log: one readable stream on the terminal, one file per process.

Every line a child prints is shown as ``12:00:01.234 manager | …``: a time, the
process name in its own colour and padded so the bars line up, then the line.
The same line, with the date and without colour, is appended to
``<data dir>/logs/<name>.log``, so a process's history survives the terminal.
A child's own leading timestamp is kept in its file but not repeated on the
terminal, where one time per line is easier to read.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import IO, TextIO

NAME_WIDTH = 7
#: the time Python's logging puts first by default; the terminal shows the stack's own instead
_OWN_STAMP = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d+ ")
_COLOURS = ("36", "33", "35", "32", "34", "91", "96", "93")
_RESET = "\x1b[0m"


def _wants_colour(out: TextIO) -> bool:
    # The conventions other tools follow: NO_COLOR turns it off, FORCE_COLOR on.
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return out.isatty()


class StackLog:
    """Writes prefixed lines for each named process to the terminal and its log file."""

    def __init__(self, log_dir: Path, out: TextIO | None = None) -> None:
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._out = out or sys.stdout
        self._colour = _wants_colour(self._out)
        self._files: dict[str, IO[str]] = {}
        self._colours: dict[str, str] = {}

    def path_of(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _file(self, name: str) -> IO[str]:
        file = self._files.get(name)
        if file is None:
            file = open(self.path_of(name), "a", encoding="utf-8", buffering=1)  # noqa: SIM115
            self._files[name] = file
        return file

    def _label(self, name: str) -> str:
        label = name[:NAME_WIDTH].ljust(NAME_WIDTH)
        if not self._colour:
            return label
        colour = self._colours.setdefault(name, _COLOURS[len(self._colours) % len(_COLOURS)])
        return f"\x1b[{colour}m{label}{_RESET}"

    def line(self, name: str, text: str) -> None:
        now = datetime.now().astimezone()
        text = text.rstrip("\r\n")
        self._file(name).write(f"{now.isoformat(timespec='milliseconds')} {text}\n")
        shown = _OWN_STAMP.sub("", text, count=1)
        self._out.write(
            f"{now:%H:%M:%S}.{now.microsecond // 1000:03d} {self._label(name)} | {shown}\n"
        )
        self._out.flush()

    def close(self) -> None:
        for file in self._files.values():
            file.close()
        self._files.clear()
