"""What :class:`~berth_sdk.AsyncClient` and :class:`~berth_sdk.Client` share besides the calls.

Where they connect and as whom, their pacing, the sessions they asked for, the
plans they build from those, and the steps of carrying a plan out that do no
I/O. What is left to each client is sending and waiting.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypedDict

import httpx

from berth_sdk import calls, plans
from berth_sdk.calls import Call
from berth_sdk.connection import HEADERS, Connection
from berth_sdk.errors import BerthError


class HttpOptions(TypedDict):
    """What both clients' ``httpx`` clients are made with."""

    base_url: str
    timeout: float
    headers: dict[str, str]


class BaseClient:
    """The state and the plan-building both clients share; subclasses add an HTTP client."""

    def __init__(
        self,
        endpoint: str | None,
        access_key: str | None,
        secret_key: str | None,
        token: str | None,
        timeout: float,
        poll_interval: float,
    ) -> None:
        self._connection = Connection.resolve(endpoint, access_key, secret_key, token)
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._recent = plans.RecentSessions()

    @property
    def endpoint(self) -> str:
        return self._connection.endpoint

    @property
    def access_key(self) -> str:
        """The access key requests are signed with (``""`` with a token or without keys)."""
        return self._connection.access_key

    def _http_options(self) -> HttpOptions:
        return HttpOptions(
            base_url=self._connection.endpoint, timeout=self._timeout, headers=HEADERS
        )

    def _log_stream(self, step: plans.StreamLogs) -> tuple[Call[None], httpx.Timeout]:
        """The call that streams a step's output, and its timeout."""
        call = calls.stream_logs(
            step.session_id, step.cursor.offset, follow=step.follow, kernel=step.kernel
        )
        # A followed log may be quiet for as long as the session is: no read timeout.
        return call, httpx.Timeout(self._timeout, read=None)

    def _watch(self, session_id: str, until: Collection[str], timeout: float | None) -> plans.Plan:
        appear_by = self._recent.appear_by(session_id)
        return plans.watch(session_id, frozenset(until), timeout, self._poll_interval, appear_by)

    def _follow(self, session_id: str, offset: int, kernel: int | None) -> plans.Plan:
        appear_by = self._recent.appear_by(session_id)
        return plans.follow_logs(session_id, offset, self._poll_interval, kernel, appear_by)


def next_step(plan: plans.Plan, outcome: object, error: BerthError | None) -> plans.Step | None:
    """The plan's next step, given what its last one came to (``None``: the plan is done)."""
    try:
        return plan.throw(error) if error is not None else plan.send(outcome)
    except StopIteration:
        return None


def timeout_of(seconds: float | None) -> httpx.Timeout | None:
    return None if seconds is None else httpx.Timeout(seconds)
