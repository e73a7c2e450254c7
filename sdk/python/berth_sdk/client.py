"""``AsyncClient``: every endpoint of Berth's REST API, signed, with typed results.

::

    async with AsyncClient() as berth:          # endpoint and keys from env or `berth login`
        accepted = await berth.create_session(
            SessionSpec(name="hello", image="berth-small", session_type="batch",
                        startup_command="echo hello", resources={"cpu": "1", "mem": "64m"})
        )
        await berth.wait_for(accepted.session_id, {"RUNNING"})
        async for text in berth.follow_logs(accepted.session_id):
            print(text, end="")

Requests and parsing are :mod:`berth_sdk.calls`, multi-request operations are
:mod:`berth_sdk.plans`; this module only sends them. :class:`berth_sdk.Client`
is the same API, blocking.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Mapping
from contextlib import aclosing
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


class AsyncClient(BaseClient):
    """A connection to one Berth gateway.

    Arguments left out come from ``BERTH_ENDPOINT``, ``BERTH_ACCESS_KEY`` and
    ``BERTH_SECRET_KEY``, else from the file ``berth login`` writes. With
    ``token``, requests carry that bearer token instead of a signature.
    ``poll_interval`` paces :meth:`wait_for`, :meth:`watch_session` and the
    reconnects of :meth:`follow_logs`.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(endpoint, access_key, secret_key, token, timeout, poll_interval)
        self._http = httpx.AsyncClient(**self._http_options(), transport=transport)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- sending ----------------------------------------------------------------------------

    async def _send(
        self, call: Call[Any], *, stream: bool = False, timeout: httpx.Timeout | None = None
    ) -> httpx.Response:
        request = call.request(self._http, timeout)
        try:
            return await self._http.send(
                request, auth=self._connection.auth_for(call), stream=stream
            )
        except httpx.TransportError as exc:
            raise self._connection.unreachable(exc) from None

    async def call(self, call: Call[T], *, timeout: float | None = None) -> T:
        """Send one call and return its parsed result; refusals raise :class:`BerthError`."""
        response = await self._send(call, timeout=timeout_of(timeout))
        return parsed(call, response)

    async def _stream_logs(self, step: plans.StreamLogs) -> AsyncGenerator[str, None]:
        call, no_read_limit = self._log_stream(step)
        response = await self._send(call, stream=True, timeout=no_read_limit)
        try:
            if response.is_error:
                await response.aread()
                check(response)
            async for chunk in response.aiter_bytes():
                if text := step.cursor.feed(chunk):
                    yield text
        except httpx.TransportError:
            return  # cut short: the plan asks the session whether more will come
        finally:
            await response.aclose()

    async def _all(self, page_at: PageCall[T]) -> list[T]:
        """Every item of a paged listing."""
        async with aclosing(self._drive(plans.pages(page_at))) as found:
            return [item async for item in found]

    async def _drive(self, plan: plans.Plan) -> AsyncGenerator[Any, None]:
        """Carry out a plan's steps, yielding what it emits."""
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
                        outcome = await self.call(step.call)
                    elif isinstance(step, plans.StreamLogs):
                        async with aclosing(self._stream_logs(step)) as texts:
                            async for text in texts:
                                yield text
                    else:
                        await asyncio.sleep(step.seconds)
                except BerthError as exc:
                    error = exc
        finally:
            plan.close()

    # --- auth -------------------------------------------------------------------------------

    async def health(self) -> bool:
        """Whether the gateway answers (no credentials needed)."""
        return await self.call(calls.health())

    async def whoami(self) -> WhoAmI:
        return await self.call(calls.whoami())

    async def issue_token(self, ttl_seconds: int = 3600) -> Token:
        """A bearer token for programs that should not hold the secret key."""
        return await self.call(calls.issue_token(ttl_seconds))

    # --- sessions ---------------------------------------------------------------------------

    async def create_session(self, spec: SessionSpec) -> SessionAccepted:
        """Ask for a session; answered as soon as the decision is stored (``PENDING``)."""
        accepted = await self.call(calls.create_session(spec))
        self._recent.asked(accepted.session_id)
        return accepted

    async def list_sessions(
        self,
        *,
        statuses: list[str] | None = None,
        project: str | None = None,
        owner: str | None = None,
        name: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Session]:
        """One page of sessions, newest first; :meth:`iter_sessions` walks every page."""
        page_at = calls.sessions(
            statuses=statuses, project=project, owner=owner, name=name, limit=limit
        )
        return await self.call(page_at(cursor))

    def iter_sessions(
        self,
        *,
        statuses: list[str] | None = None,
        project: str | None = None,
        owner: str | None = None,
        name: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Session]:
        page_at = calls.sessions(
            statuses=statuses, project=project, owner=owner, name=name, limit=page_size
        )
        return self._drive(plans.pages(page_at))

    async def get_session(self, session_id: str) -> Session:
        return await self.call(calls.get_session(session_id))

    async def session_history(self, session_id: str) -> list[StatusChange]:
        return await self.call(calls.session_history(session_id))

    async def session_logs(
        self, session_id: str, offset: int = 0, *, kernel: int | None = None
    ) -> LogChunk:
        """The output from byte ``offset`` (negative: that many bytes from the end), as it is.

        ``kernel`` picks a container of a cluster session (default: the main one).
        """
        return await self.call(calls.session_logs(session_id, offset, kernel))

    def follow_logs(
        self, session_id: str, offset: int = 0, *, kernel: int | None = None
    ) -> AsyncIterator[str]:
        """The output as it is written, until the session has ended and all of it is read."""
        return self._drive(self._follow(session_id, offset, kernel))

    async def exec(
        self,
        session_id: str,
        command: list[str],
        timeout: float = 30.0,
        *,
        environ: Mapping[str, str] | None = None,
        kernel: int | None = None,
    ) -> ExecResult:
        """Run a command in a running session's container and return its output and code."""
        call = calls.exec_command(session_id, command, timeout, environ, kernel)
        # The gateway waits up to ``timeout`` for the command: wait a little longer for it.
        return await self.call(call, timeout=timeout + self._timeout)

    async def destroy_session(self, session_id: str) -> SessionAccepted:
        """Cancel a pending session or stop a live one; answered once that is decided."""
        return await self.call(calls.destroy_session(session_id))

    async def session_telemetry(self, session_id: str) -> list[KernelUsage]:
        """The latest usage of each of the session's containers (none while it is not running)."""
        return await self.call(calls.session_telemetry(session_id))

    def watch_session(
        self, session_id: str, until: Collection[str] = (), timeout: float | None = None
    ) -> AsyncIterator[Session]:
        """The session each time its status changes, until it reaches ``until`` or ends.

        Raises :class:`~berth_sdk.plans.WaitTimeout` after ``timeout`` seconds.
        """
        return self._drive(self._watch(session_id, until, timeout))

    async def wait_for(
        self, session_id: str, statuses: Collection[str], timeout: float | None = None
    ) -> Session:
        """The session once it reaches one of ``statuses``, or once it ended anyway.

        Check the returned status: a session that ended in ERROR is returned too,
        since it will never reach RUNNING. Raises
        :class:`~berth_sdk.plans.WaitTimeout` after ``timeout`` seconds.
        """
        plan = self._watch(session_id, statuses, timeout)
        last: Session | None = None
        async with aclosing(self._drive(plan)) as changes:
            async for session in changes:
                last = session
        assert last is not None  # a watch emits the first status it sees
        return last

    # --- cluster ----------------------------------------------------------------------------

    async def list_images(self) -> list[Image]:
        return await self.call(calls.list_images())

    async def list_agents(
        self, *, resource_group: str | None = None, statuses: list[str] | None = None
    ) -> list[Agent]:
        return await self._all(calls.agents(resource_group=resource_group, statuses=statuses))

    async def list_resource_groups(self) -> list[ResourceGroup]:
        return await self.call(calls.list_resource_groups())

    async def create_resource_group(
        self, name: str, spec: ResourceGroupSpec | None = None
    ) -> CommandDone:
        return await self.call(calls.create_resource_group(name, spec or ResourceGroupSpec()))

    async def change_resource_group(self, name: str, spec: ResourceGroupSpec) -> CommandDone:
        """Change what ``spec`` gives; the rest of the group's policy stays as it is."""
        return await self.call(calls.change_resource_group(name, spec))

    # --- admin ------------------------------------------------------------------------------

    async def list_domains(self) -> list[Domain]:
        return await self.call(admin.list_domains())

    async def create_domain(self, name: str, description: str = "") -> CommandDone:
        return await self.call(admin.create_domain(name, description))

    async def list_projects(self, *, domain: str | None = None) -> list[Project]:
        return await self.call(admin.list_projects(domain))

    async def create_project(
        self,
        name: str,
        *,
        domain: str | None = None,
        policy: str | None = None,
        description: str = "",
    ) -> CommandDone:
        """A project in ``domain`` (default: the caller's own)."""
        call = admin.create_project(name, domain=domain, policy=policy, description=description)
        return await self.call(call)

    async def list_users(
        self, *, domain: str | None = None, project: str | None = None
    ) -> list[User]:
        return await self._all(admin.users(domain=domain, project=project))

    async def create_user(
        self,
        username: str,
        *,
        domain: str | None = None,
        email: str = "",
        role: str | None = None,
        policy: str | None = None,
    ) -> CommandDone:
        """A user in ``domain`` (default: the caller's own); then issue them a keypair."""
        call = admin.create_user(username, domain=domain, email=email, role=role, policy=policy)
        return await self.call(call)

    async def add_user_to_project(self, username: str, project: str) -> CommandDone:
        return await self.call(admin.add_user_to_project(username, project))

    async def change_user(
        self,
        username: str,
        *,
        role: str | None = None,
        policy: str | None = None,
        active: bool | None = None,
    ) -> UserChanged:
        """Change what is given; ``active=False`` deactivates the user (for good)."""
        call = admin.change_user(username, role=role, policy=policy, active=active)
        return await self.call(call)

    async def list_keypairs(self, *, username: str | None = None) -> list[Keypair]:
        return await self._all(admin.keypairs(username=username))

    async def issue_keypair(self, username: str, policy: str | None = None) -> Keypair:
        """A new keypair; its ``secret_key`` is in this answer and never again."""
        return await self.call(admin.issue_keypair(username, policy))

    async def revoke_keypair(self, access_key: str) -> CommandDone:
        return await self.call(admin.revoke_keypair(access_key))

    async def list_policies(self) -> list[Policy]:
        return await self.call(admin.list_policies())

    async def define_policy(self, name: str, limits: PolicyLimits) -> CommandDone:
        return await self.call(admin.define_policy(name, limits))

    async def change_policy(self, name: str, limits: PolicyLimits) -> CommandDone:
        """Replace all of the policy's limits (a limit left out becomes unlimited)."""
        return await self.call(admin.change_policy(name, limits))
