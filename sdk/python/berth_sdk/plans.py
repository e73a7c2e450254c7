"""Operations of more than one request, written once as plans that both clients drive.

A plan is a generator of steps: fetch this call, stream the session's output
from the cursor, sleep, or emit a value to the caller. The client that drives
it sends back each fetch's result, or throws in the :class:`BerthError` it
raised. The async client drives plans with awaits and the sync one with
blocking calls, so the rules (when to reconnect, when watching is over, how
pages follow each other) live only here, and a plan itself does no I/O.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Collection, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from berth_sdk import calls
from berth_sdk.calls import Call, PageCall
from berth_sdk.errors import Conflict, ConnectionFailed, NotFound, Unavailable
from berth_sdk.models import LogChunk, Page, Session

T = TypeVar("T")


class LogCursor:
    """Where a log read stands: the byte offset, and a character split across chunks.

    Offsets count bytes of the session's output, and a chunk may end inside a
    UTF-8 character whose rest comes with the next one, so bytes are decoded
    incrementally and the offset advances by bytes.
    """

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, chunk: bytes) -> str:
        self.offset += len(chunk)
        return self._decoder.decode(chunk)

    def flush(self) -> str:
        return self._decoder.decode(b"", final=True)


@dataclass(frozen=True)
class Emit:
    value: Any


@dataclass(frozen=True)
class Fetch:
    call: Call[Any]


@dataclass(frozen=True)
class StreamLogs:
    """Read the output from ``cursor`` on, emitting its text; ``follow``: until the session ends.

    A stream cut short by the network just ends: the plan decides what next.
    """

    session_id: str
    cursor: LogCursor
    follow: bool
    kernel: int | None = None


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Emit | Fetch | StreamLogs | Sleep
Plan = Generator[Step, Any, None]


class WaitTimeout(TimeoutError):
    """A session did not reach the statuses waited for in time."""

    def __init__(self, session_id: str, wanted: Collection[str], last: str | None) -> None:
        super().__init__(
            f"session {session_id} did not reach {' or '.join(sorted(wanted)) or 'an end'} "
            f"in time (last seen: {last or 'nothing'})"
        )
        self.session_id = session_id
        self.last_status = last


class RecentSessions:
    """The sessions a client asked for, and when.

    The manager answers a request as soon as its decision is stored; the read
    models the gateway answers from show the session a moment later. For a while
    after asking, "not found" about such a session means "not yet".
    """

    #: seconds after the request during which "not found" means "not yet"
    SETTLE = 30.0

    def __init__(self) -> None:
        self._asked: dict[str, float] = {}

    def asked(self, session_id: str) -> None:
        now = time.monotonic()
        if len(self._asked) > 1000:  # a long-lived client: forget what has settled
            self._asked = {k: t for k, t in self._asked.items() if now - t < self.SETTLE}
        self._asked[session_id] = now

    def appear_by(self, session_id: str) -> float:
        """Until when (``time.monotonic``) the session may still be on its way."""
        return self._asked.get(session_id, float("-inf")) + self.SETTLE


#: refusals that mean "not yet" while a session has not ended: no kernel to read from
#: yet (not found, conflict), or its agent did not answer this time
_NOT_YET = (NotFound, Conflict, Unavailable)


def pages(page_at: PageCall[T]) -> Plan:
    """Every item of a listing, page after page."""
    cursor: str | None = None
    while True:
        page: Page[T] = yield Fetch(page_at(cursor))
        for item in page.items:
            yield Emit(item)
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def _session(session_id: str, appear_by: float, interval: float) -> Generator[Step, Any, Session]:
    """The session; "not found" is waited out until ``appear_by`` (see :class:`RecentSessions`)."""
    while True:
        try:
            session: Session = yield Fetch(calls.get_session(session_id))
        except NotFound:
            if time.monotonic() >= appear_by:
                raise
        else:
            return session
        yield Sleep(interval)


def watch(
    session_id: str,
    until: Collection[str],
    timeout: float | None,
    interval: float,
    appear_by: float = float("-inf"),
) -> Plan:
    """The session each time its status changes, until it reaches ``until`` or ends.

    A session that ended will not change again, so watching stops there even
    when it never reached ``until`` (a session in ERROR will not start RUNNING).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    last: str | None = None
    while True:
        session = yield from _session(session_id, appear_by, interval)
        if session.status != last:
            last = session.status
            yield Emit(session)
        if session.status in until or session.ended:
            return
        if deadline is not None and time.monotonic() >= deadline:
            raise WaitTimeout(session_id, until, last)
        yield Sleep(interval)


def follow_logs(
    session_id: str,
    offset: int,
    interval: float,
    kernel: int | None = None,
    appear_by: float = float("-inf"),
) -> Plan:
    """The session's output as text, from ``offset`` (negative: that many bytes from the end)
    until the session has ended and all it wrote has been read."""
    if offset < 0:
        # Where "the last N bytes" begin is known only to the gateway: ask once, then
        # follow from the offset it names.
        chunk: LogChunk = yield Fetch(calls.session_logs(session_id, offset, kernel))
        if chunk.data:
            yield Emit(chunk.data)
        offset = chunk.next_offset
    cursor = LogCursor(offset)
    while True:
        try:
            yield StreamLogs(session_id, cursor, follow=True, kernel=kernel)
        except _NOT_YET as exc:
            if isinstance(exc, ConnectionFailed):
                raise
        # The stream ends when the session does, or earlier when something between
        # cut it (a restarted gateway, an idle proxy): only the session can tell.
        session = yield from _session(session_id, appear_by, interval)
        if session.ended:
            break
        yield Sleep(interval)
    # Whatever was written between the stream's last read and the end.
    try:
        yield StreamLogs(session_id, cursor, follow=False, kernel=kernel)
    except _NOT_YET as exc:
        if isinstance(exc, ConnectionFailed):
            raise
    if rest := cursor.flush():
        yield Emit(rest)
