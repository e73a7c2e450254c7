"""A stand-in for the SDK's ``Client``: canned answers, recorded calls, refusals on demand.

Tests put it behind ``cli.connect.make_client`` so each command runs for real,
arguments, output and exit status included, without a gateway.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from berth_sdk import (
    TERMINAL_STATUSES,
    CommandDone,
    Credentials,
    ExecResult,
    Keypair,
    LogChunk,
    Page,
    Session,
    SessionAccepted,
    SessionSpec,
    StatusChange,
    UserChanged,
    WhoAmI,
)

SID = "11111111-1111-1111-1111-111111111111"


def make_session(status: str = "PENDING", **fields: Any) -> Session:
    values: dict[str, Any] = {
        "id": SID,
        "name": "s1",
        "status": status,
        "image": "berth-small",
        "session_type": "batch",
        "resources": {"cpu": "1", "mem": "268435456"},
        "created_at": datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
    }
    values.update(fields)
    return Session(**values)


@dataclass
class FakeClient:
    endpoint: str = "http://gateway.test:8480"
    #: successive states of the session, as successive polls see them
    timeline: list[Session] = field(default_factory=lambda: [make_session("RUNNING")])
    output: list[str] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    #: method name -> exception to raise instead of answering
    failures: dict[str, Exception] = field(default_factory=dict)
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    credentials: Credentials | None = None
    closed: bool = False
    exec_result: ExecResult = field(default_factory=lambda: ExecResult(exit_code=0, output=""))

    def _called(self, method: str, /, *args: Any, **kwargs: Any) -> None:
        self.calls.append((method, args, kwargs))
        if method in self.failures:
            raise self.failures[method]

    def called(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for n, a, k in self.calls if n == name]

    def close(self) -> None:
        self.closed = True

    def whoami(self) -> WhoAmI:
        self._called("whoami")
        return WhoAmI(
            access_key="AKTEST", username="ann", role="user", domain="default", projects=["default"]
        )

    def create_session(self, spec: SessionSpec) -> SessionAccepted:
        self._called("create_session", spec)
        return SessionAccepted(session_id=SID, status="PENDING")

    def watch_session(
        self, session_id: str, until: Collection[str] = (), timeout: float | None = None
    ) -> Iterator[Session]:
        self._called("watch_session", session_id, until)
        last = None
        for state in self.timeline:
            if state.status != last:
                last = state.status
                yield state
            if state.status in until or state.status in TERMINAL_STATUSES:
                return

    def get_session(self, session_id: str) -> Session:
        self._called("get_session", session_id)
        return self.timeline[-1]

    def follow_logs(self, session_id: str, offset: int = 0) -> Iterator[str]:
        self._called("follow_logs", session_id, offset)
        yield from self.output

    def session_logs(self, session_id: str, offset: int = 0) -> LogChunk:
        self._called("session_logs", session_id, offset)
        data = "".join(self.output)
        rest = data[offset:]
        return LogChunk(data=rest, next_offset=len(data))

    def list_sessions(self, **filters: Any) -> Page[Session]:
        self._called("list_sessions", **filters)
        named = [s for s in self.sessions if filters.get("name") in (None, s.name)]
        return Page(items=named, next_cursor=None)

    def iter_sessions(self, **filters: Any) -> Iterator[Session]:
        self._called("iter_sessions", **filters)
        yield from self.sessions

    def session_history(self, session_id: str) -> list[StatusChange]:
        self._called("session_history", session_id)
        return [StatusChange(status=s.status, reason=s.status_reason) for s in self.timeline]

    def exec(self, session_id: str, command: list[str], timeout: float = 30.0) -> ExecResult:
        self._called("exec", session_id, command, timeout)
        return self.exec_result

    def destroy_session(self, session_id: str) -> SessionAccepted:
        self._called("destroy_session", session_id)
        return SessionAccepted(session_id=session_id, status="TERMINATING")

    def issue_keypair(self, username: str, policy: str | None = None) -> Keypair:
        self._called("issue_keypair", username, policy)
        return Keypair(access_key="AKNEW", username=username, secret_key="SKNEW")

    def define_policy(self, name: str, limits: Any) -> CommandDone:
        self._called("define_policy", name, limits)
        return CommandDone()

    def change_user(self, username: str, **changes: Any) -> UserChanged:
        self._called("change_user", username, **changes)
        return UserChanged(username=username, changed=list(changes))

    def __getattr__(self, name: str) -> Any:
        # Listings the tests do not shape: empty, and recorded.
        if name.startswith("list_"):

            def listing(**filters: Any) -> list[Any]:
                self._called(name, **filters)
                return []

            return listing
        raise AttributeError(name)
