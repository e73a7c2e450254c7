"""``Client``: the blocking twin of :class:`~berth_sdk.client.AsyncClient`.

Same methods, same arguments, same results, on ``httpx.Client``. It sends the
very same :mod:`~berth_sdk.calls` and drives the very same
:mod:`~berth_sdk.plans`; only the waiting differs.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Generator, Iterator, Mapping
from contextlib import closing
from types import TracebackType
from typing import Any, TypeVar

import httpx

from berth_sdk import admin_calls as admin
from berth_sdk import calls, plans
from berth_sdk.base_client import BaseClient, next_step, timeout_of
from berth_sdk.calls import Call, PageCall, check
from berth_sdk.connection import DEFAULT_TIMEOUT, parsed
from berth_sdk.errors import BerthError
from berth_sdk.models import (
    Agent,
    CommandDone,
    Domain,
    ExecResult,
    Image,
    KernelUsage,
    Keypair,
    LogChunk,
    Page,
    Policy,
    PolicyLimits,
    Project,
    ResourceGroup,
    ResourceGroupSpec,
    Session,
    SessionAccepted,
    SessionSpec,
    StatusChange,
    Token,
    User,
    UserChanged,
    WhoAmI,
)

T = TypeVar("T")


class Client(BaseClient):
    """A blocking connection to one Berth gateway; see :class:`~berth_sdk.AsyncClient`."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(endpoint, access_key, secret_key, token, timeout, poll_interval)
        self._http = httpx.Client(**self._http_options(), transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- sending ----------------------------------------------------------------------------

    def _send(
        self, call: Call[Any], *, stream: bool = False, timeout: httpx.Timeout | None = None
    ) -> httpx.Response:
        request = call.request(self._http, timeout)
        try:
            return self._http.send(request, auth=self._connection.auth_for(call), stream=stream)
        except httpx.TransportError as exc:
            raise self._connection.unreachable(exc) from None

    def call(self, call: Call[T], *, timeout: float | None = None) -> T:
        response = self._send(call, timeout=timeout_of(timeout))
        return parsed(call, response)

    def _stream_logs(self, step: plans.StreamLogs) -> Generator[str, None, None]:
        call, no_read_limit = self._log_stream(step)
        response = self._send(call, stream=True, timeout=no_read_limit)
        try:
            if response.is_error:
                response.read()
                check(response)
            for chunk in response.iter_bytes():
                if text := step.cursor.feed(chunk):
                    yield text
        except httpx.TransportError:
            return
        finally:
            response.close()

    def _all(self, page_at: PageCall[T]) -> list[T]:
        with closing(self._drive(plans.pages(page_at))) as found:
            return list(found)

    def _drive(self, plan: plans.Plan) -> Generator[Any, None, None]:
        outcome: Any = None
        error: BerthError | None = None
        try:
            while True:
                step = next_step(plan, outcome, error)
                if step is None:
                    return
                outcome, error = None, None
                if isinstance(step, plans.Emit):
                    yield step.value
                    continue
                try:
                    if isinstance(step, plans.Fetch):
                        outcome = self.call(step.call)
                    elif isinstance(step, plans.StreamLogs):
                        with closing(self._stream_logs(step)) as texts:
                            yield from texts
                    else:
                        time.sleep(step.seconds)
                except BerthError as exc:
                    error = exc
        finally:
            plan.close()

    # --- auth -------------------------------------------------------------------------------

    def health(self) -> bool:
        return self.call(calls.health())

    def whoami(self) -> WhoAmI:
        return self.call(calls.whoami())

    def issue_token(self, ttl_seconds: int = 3600) -> Token:
        return self.call(calls.issue_token(ttl_seconds))

    # --- sessions ---------------------------------------------------------------------------

    def create_session(self, spec: SessionSpec) -> SessionAccepted:
        accepted = self.call(calls.create_session(spec))
        self._recent.asked(accepted.session_id)
        return accepted

    def list_sessions(
        self,
        *,
        statuses: list[str] | None = None,
        project: str | None = None,
        owner: str | None = None,
        name: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Session]:
        page_at = calls.sessions(
            statuses=statuses, project=project, owner=owner, name=name, limit=limit
        )
        return self.call(page_at(cursor))

    def iter_sessions(
        self,
        *,
        statuses: list[str] | None = None,
        project: str | None = None,
        owner: str | None = None,
        name: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Session]:
        page_at = calls.sessions(
            statuses=statuses, project=project, owner=owner, name=name, limit=page_size
        )
        return self._drive(plans.pages(page_at))

    def get_session(self, session_id: str) -> Session:
        return self.call(calls.get_session(session_id))

    def session_history(self, session_id: str) -> list[StatusChange]:
        return self.call(calls.session_history(session_id))

    def session_logs(
        self, session_id: str, offset: int = 0, *, kernel: int | None = None
    ) -> LogChunk:
        return self.call(calls.session_logs(session_id, offset, kernel))

    def follow_logs(
        self, session_id: str, offset: int = 0, *, kernel: int | None = None
    ) -> Iterator[str]:
        return self._drive(self._follow(session_id, offset, kernel))

    def exec(
        self,
        session_id: str,
        command: list[str],
        timeout: float = 30.0,
        *,
        environ: Mapping[str, str] | None = None,
        kernel: int | None = None,
    ) -> ExecResult:
        call = calls.exec_command(session_id, command, timeout, environ, kernel)
        return self.call(call, timeout=timeout + self._timeout)

    def destroy_session(self, session_id: str) -> SessionAccepted:
        return self.call(calls.destroy_session(session_id))

    def session_telemetry(self, session_id: str) -> list[KernelUsage]:
        return self.call(calls.session_telemetry(session_id))

    def watch_session(
        self, session_id: str, until: Collection[str] = (), timeout: float | None = None
    ) -> Iterator[Session]:
        return self._drive(self._watch(session_id, until, timeout))

    def wait_for(
        self, session_id: str, statuses: Collection[str], timeout: float | None = None
    ) -> Session:
        plan = self._watch(session_id, statuses, timeout)
        last: Session | None = None
        with closing(self._drive(plan)) as changes:
            for session in changes:
                last = session
        assert last is not None  # a watch emits the first status it sees
        return last

    # --- cluster ----------------------------------------------------------------------------

    def list_images(self) -> list[Image]:
        return self.call(calls.list_images())

    def list_agents(
        self, *, resource_group: str | None = None, statuses: list[str] | None = None
    ) -> list[Agent]:
        return self._all(calls.agents(resource_group=resource_group, statuses=statuses))

    def list_resource_groups(self) -> list[ResourceGroup]:
        return self.call(calls.list_resource_groups())

    def create_resource_group(
        self, name: str, spec: ResourceGroupSpec | None = None
    ) -> CommandDone:
        return self.call(calls.create_resource_group(name, spec or ResourceGroupSpec()))

    def change_resource_group(self, name: str, spec: ResourceGroupSpec) -> CommandDone:
        return self.call(calls.change_resource_group(name, spec))

    # --- admin ------------------------------------------------------------------------------

    def list_domains(self) -> list[Domain]:
        return self.call(admin.list_domains())

    def create_domain(self, name: str, description: str = "") -> CommandDone:
        return self.call(admin.create_domain(name, description))

    def list_projects(self, *, domain: str | None = None) -> list[Project]:
        return self.call(admin.list_projects(domain))

    def create_project(
        self,
        name: str,
        *,
        domain: str | None = None,
        policy: str | None = None,
        description: str = "",
    ) -> CommandDone:
        call = admin.create_project(name, domain=domain, policy=policy, description=description)
        return self.call(call)

    def list_users(self, *, domain: str | None = None, project: str | None = None) -> list[User]:
        return self._all(admin.users(domain=domain, project=project))

    def create_user(
        self,
        username: str,
        *,
        domain: str | None = None,
        email: str = "",
        role: str | None = None,
        policy: str | None = None,
    ) -> CommandDone:
        call = admin.create_user(username, domain=domain, email=email, role=role, policy=policy)
        return self.call(call)

    def add_user_to_project(self, username: str, project: str) -> CommandDone:
        return self.call(admin.add_user_to_project(username, project))

    def change_user(
        self,
        username: str,
        *,
        role: str | None = None,
        policy: str | None = None,
        active: bool | None = None,
    ) -> UserChanged:
        return self.call(admin.change_user(username, role=role, policy=policy, active=active))

    def list_keypairs(self, *, username: str | None = None) -> list[Keypair]:
        return self._all(admin.keypairs(username=username))

    def issue_keypair(self, username: str, policy: str | None = None) -> Keypair:
        return self.call(admin.issue_keypair(username, policy))

    def revoke_keypair(self, access_key: str) -> CommandDone:
        return self.call(admin.revoke_keypair(access_key))

    def list_policies(self) -> list[Policy]:
        return self.call(admin.list_policies())

    def define_policy(self, name: str, limits: PolicyLimits) -> CommandDone:
        return self.call(admin.define_policy(name, limits))

    def change_policy(self, name: str, limits: PolicyLimits) -> CommandDone:
        return self.call(admin.change_policy(name, limits))
