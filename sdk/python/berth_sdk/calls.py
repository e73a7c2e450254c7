"""Every endpoint of the REST API as a :class:`Call`: the request, and how to read the answer.

Both clients run the same calls (the async one on ``httpx.AsyncClient``, the
sync one on ``httpx.Client``), so paths, bodies, parameters and parsing live
here once. A call does no I/O.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from berth_sdk.errors import error_from_response
from berth_sdk.models import (
    Agent,
    CommandDone,
    ExecResult,
    Image,
    KernelUsage,
    LogChunk,
    Page,
    ResourceGroup,
    ResourceGroupSpec,
    Session,
    SessionAccepted,
    SessionSpec,
    StatusChange,
    Token,
    WhoAmI,
)

T = TypeVar("T")

JSON = "application/json"
NEXT_OFFSET_HEADER = "X-Berth-Next-Offset"


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, str] | None = None
    body: bytes | None = None

    def request(
        self, http: httpx.Client | httpx.AsyncClient, timeout: httpx.Timeout | None = None
    ) -> httpx.Request:
        headers = {"Content-Type": JSON} if self.body is not None else None
        return http.build_request(
            self.method,
            self.path,
            params=self.params,
            content=self.body,
            headers=headers,
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
        )


def check(response: httpx.Response) -> None:
    """Raise the matching :class:`~berth_sdk.errors.BerthError` for an error status.

    The body must have been read (a streamed response: after ``aread``/``read``).
    """
    if response.is_error:
        raise error_from_response(response.status_code, response.content, response.reason_phrase)


def decoder(kind: Any) -> Callable[[httpx.Response], Any]:
    """A parser of JSON bodies into ``kind`` (compiled once: build parsers at import)."""
    compiled = msgspec.json.Decoder(kind)

    def parse(response: httpx.Response) -> Any:
        return compiled.decode(response.content)

    return parse


class _Items(msgspec.Struct, Generic[T]):
    items: list[T]


def items(kind: type[T]) -> Callable[[httpx.Response], list[T]]:
    """A parser of ``{"items": [...]}`` bodies."""
    compiled = msgspec.json.Decoder(_Items[kind])  # type: ignore[valid-type]

    def parse(response: httpx.Response) -> list[T]:
        return list(compiled.decode(response.content).items)

    return parse


def nothing(_response: httpx.Response) -> None:
    return None


def json_body(body: Mapping[str, Any] | msgspec.Struct) -> bytes:
    return msgspec.json.encode(body)


def segment(value: str) -> str:
    """One path segment, escaped (a username may be an e-mail address)."""
    return quote(value, safe="@")


def given(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that were given (``None``: leave it to the gateway)."""
    return {k: v for k, v in fields.items() if v is not None}


def query(fields: Mapping[str, str | int | None]) -> dict[str, str]:
    return {k: str(v) for k, v in fields.items() if v is not None}


def new_request_id() -> str:
    """A client request id: a retried command with the same id is decided only once.

    A UUIDv7 (RFC 9562): the first 48 bits are this millisecond, the rest random.
    The server gives a session requested with one an id that sorts by that time,
    which keeps its tables' newest pages together.
    """
    value = ((time.time_ns() // 1_000_000) << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # the RFC 4122 variant
    return str(uuid.UUID(int=value))


#: the call for the page at a cursor (``None``: the first page)
PageCall = Callable[[str | None], Call[Page[T]]]


def paged(path: str, kind: type[T], filters: Mapping[str, str | int | None]) -> PageCall[T]:
    """A listing in pages: the call for the page at ``cursor`` (``None``: the first)."""
    parse = decoder(Page[kind])  # type: ignore[valid-type]

    def page(cursor: str | None) -> Call[Page[T]]:
        return Call("GET", path, parse, params=query({**filters, "cursor": cursor}))

    return page


# Parsers are built once: a Decoder is compiled per type.
_session = decoder(Session)
_accepted = decoder(SessionAccepted)
_whoami = decoder(WhoAmI)
_token = decoder(Token)
_exec = decoder(ExecResult)
done = decoder(CommandDone)


# --- auth -----------------------------------------------------------------------------------


def health() -> Call[bool]:
    return Call("GET", "/v1/health", lambda r: bool(msgspec.json.decode(r.content).get("ok")))


def whoami() -> Call[WhoAmI]:
    return Call("GET", "/v1/auth/whoami", _whoami)


def issue_token(ttl_seconds: int) -> Call[Token]:
    body = json_body({"ttl_seconds": ttl_seconds})
    return Call("POST", "/v1/auth/tokens", _token, body=body)


# --- sessions -------------------------------------------------------------------------------


def create_session(spec: SessionSpec) -> Call[SessionAccepted]:
    if spec.request_id is None:
        spec = msgspec.structs.replace(spec, request_id=new_request_id())
    return Call("POST", "/v1/sessions", _accepted, body=json_body(spec))


def sessions(
    *,
    statuses: list[str] | None = None,
    project: str | None = None,
    owner: str | None = None,
    name: str | None = None,
    limit: int | None = None,
) -> PageCall[Session]:
    filters = {
        "status": ",".join(statuses) if statuses else None,
        "project": project,
        "owner": owner,
        "name": name,
        "limit": limit,
    }
    return paged("/v1/sessions", Session, filters)


def get_session(session_id: str) -> Call[Session]:
    return Call("GET", f"/v1/sessions/{segment(session_id)}", _session)


def session_history(session_id: str) -> Call[list[StatusChange]]:
    return Call("GET", f"/v1/sessions/{segment(session_id)}/history", items(StatusChange))


def _logs_params(offset: int, follow: bool, kernel: int | None) -> dict[str, str]:
    return query({"offset": offset, "follow": "true" if follow else "false", "kernel": kernel})


def stream_logs(session_id: str, offset: int, *, follow: bool, kernel: int | None) -> Call[None]:
    """The output as a streamed body (the client reads it chunk by chunk)."""
    path = f"/v1/sessions/{segment(session_id)}/logs"
    return Call("GET", path, nothing, params=_logs_params(offset, follow, kernel))


def session_logs(session_id: str, offset: int = 0, kernel: int | None = None) -> Call[LogChunk]:
    def parse(response: httpx.Response) -> LogChunk:
        body = response.content
        header = response.headers.get(NEXT_OFFSET_HEADER)
        next_offset = int(header) if header else max(offset, 0) + len(body)
        return LogChunk(data=body.decode("utf-8", "replace"), next_offset=next_offset)

    path = f"/v1/sessions/{segment(session_id)}/logs"
    return Call("GET", path, parse, params=_logs_params(offset, False, kernel))


def exec_command(
    session_id: str,
    command: list[str],
    timeout: float,
    environ: Mapping[str, str] | None = None,
    kernel: int | None = None,
) -> Call[ExecResult]:
    body = json_body({"command": command, "timeout": timeout, "environ": dict(environ or {})})
    path = f"/v1/sessions/{segment(session_id)}/exec"
    return Call("POST", path, _exec, params=query({"kernel": kernel}), body=body)


def destroy_session(session_id: str) -> Call[SessionAccepted]:
    return Call("DELETE", f"/v1/sessions/{segment(session_id)}", _accepted)


def session_telemetry(session_id: str) -> Call[list[KernelUsage]]:
    path = f"/v1/sessions/{segment(session_id)}/telemetry"
    return Call("GET", path, items(KernelUsage))


# --- cluster --------------------------------------------------------------------------------


def list_images() -> Call[list[Image]]:
    return Call("GET", "/v1/images", items(Image))


def agents(
    *, resource_group: str | None = None, statuses: list[str] | None = None
) -> PageCall[Agent]:
    filters = {
        "resource_group": resource_group,
        "status": ",".join(statuses) if statuses else None,
        "limit": 500,
    }
    return paged("/v1/agents", Agent, filters)


def list_resource_groups() -> Call[list[ResourceGroup]]:
    return Call("GET", "/v1/resource-groups", items(ResourceGroup))


def create_resource_group(name: str, spec: ResourceGroupSpec) -> Call[CommandDone]:
    fields = {"name": name, **msgspec.to_builtins(spec), "request_id": new_request_id()}
    return Call("POST", "/v1/resource-groups", done, body=json_body(fields))


def change_resource_group(name: str, spec: ResourceGroupSpec) -> Call[CommandDone]:
    fields = {**msgspec.to_builtins(spec), "request_id": new_request_id()}
    path = f"/v1/resource-groups/{segment(name)}"
    return Call("PATCH", path, done, body=json_body(fields))
