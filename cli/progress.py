"""Showing a new session on its way to RUNNING: a spinner with its status, on stderr.

On a terminal the spinner's line changes as the status does (PENDING →
SCHEDULED → PREPARING → RUNNING, with the scheduler's reason while it waits);
elsewhere (a log file, CI) each status is one plain line. Stdout stays free for
the session's own output.
"""

from __future__ import annotations

from berth_sdk import Client, Session, SessionStatus
from rich.text import Text

from cli.output import err, status

#: a session in one of these has started (or has been started and is already going)
STARTED = frozenset({SessionStatus.RUNNING, SessionStatus.TERMINATING})


def _line(label: str, session: Session) -> Text:
    line = Text(f"{label}: ") + status(session.status)
    if session.status_reason:
        line += Text(f" ({session.status_reason})", style="dim")
    return line


def await_start(berth: Client, session_id: str, label: str) -> Session:
    """The session once it has started or ended, its progress shown meanwhile."""
    last: Session | None = None
    if err.is_terminal:
        with err.status(Text(f"{label}: requested"), spinner="dots") as spinner:
            for last in berth.watch_session(session_id, STARTED):
                spinner.update(_line(label, last))
    else:
        for last in berth.watch_session(session_id, STARTED):
            err.print(_line(label, last))
    if last is None:  # a watch always shows the first status it sees
        return berth.get_session(session_id)
    return last
