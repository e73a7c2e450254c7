"""The administrative endpoints (``/v1/admin``) as :class:`~berth_sdk.calls.Call`\\ s.

Every change carries a fresh ``request_id``, so a change retried after a lost
answer is decided once.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from berth_sdk.calls import (
    Call,
    PageCall,
    decoder,
    done,
    given,
    items,
    json_body,
    new_request_id,
    paged,
    segment,
)
from berth_sdk.models import (
    CommandDone,
    Domain,
    Keypair,
    Policy,
    PolicyLimits,
    Project,
    User,
    UserChanged,
)

_keypair = decoder(Keypair)
_user_changed = decoder(UserChanged)


def _change(method: str, path: str, fields: dict[str, Any]) -> Call[CommandDone]:
    body = json_body({**given(fields), "request_id": new_request_id()})
    return Call(method, path, done, body=body)


def list_domains() -> Call[list[Domain]]:
    return Call("GET", "/v1/admin/domains", items(Domain))


def create_domain(name: str, description: str = "") -> Call[CommandDone]:
    return _change("POST", "/v1/admin/domains", {"name": name, "description": description})


def list_projects(domain: str | None = None) -> Call[list[Project]]:
    params = given({"domain": domain})
    return Call("GET", "/v1/admin/projects", items(Project), params=params)


def create_project(
    name: str, *, domain: str | None = None, policy: str | None = None, description: str = ""
) -> Call[CommandDone]:
    fields = {"name": name, "domain": domain, "policy": policy, "description": description}
    return _change("POST", "/v1/admin/projects", fields)


def users(*, domain: str | None = None, project: str | None = None) -> PageCall[User]:
    return paged("/v1/admin/users", User, {"domain": domain, "project": project, "limit": 500})


def create_user(
    username: str,
    *,
    domain: str | None = None,
    email: str = "",
    role: str | None = None,
    policy: str | None = None,
) -> Call[CommandDone]:
    fields = {"username": username, "domain": domain, "email": email, "role": role}
    return _change("POST", "/v1/admin/users", fields | {"policy": policy})


def add_user_to_project(username: str, project: str) -> Call[CommandDone]:
    path = f"/v1/admin/users/{segment(username)}/projects"
    return Call("POST", path, done, body=json_body({"project": project}))


def change_user(
    username: str,
    *,
    role: str | None = None,
    policy: str | None = None,
    active: bool | None = None,
) -> Call[UserChanged]:
    body = json_body(given({"role": role, "policy": policy, "active": active}))
    return Call("PATCH", f"/v1/admin/users/{segment(username)}", _user_changed, body=body)


def keypairs(*, username: str | None = None) -> PageCall[Keypair]:
    return paged("/v1/admin/keypairs", Keypair, {"username": username, "limit": 500})


def issue_keypair(username: str, policy: str | None = None) -> Call[Keypair]:
    fields = given({"username": username, "policy": policy}) | {"request_id": new_request_id()}

    def parse(response: httpx.Response) -> Keypair:
        # The answer names the key and its secret; whose it is, the request said.
        issued: Keypair = _keypair(response)
        return msgspec.structs.replace(issued, username=username, policy=policy or issued.policy)

    return Call("POST", "/v1/admin/keypairs", parse, body=json_body(fields))


def revoke_keypair(access_key: str) -> Call[CommandDone]:
    return Call("DELETE", f"/v1/admin/keypairs/{segment(access_key)}", done)


def list_policies() -> Call[list[Policy]]:
    return Call("GET", "/v1/admin/policies", items(Policy))


def define_policy(name: str, limits: PolicyLimits) -> Call[CommandDone]:
    return _change("POST", "/v1/admin/policies", {"name": name, "limits": limits})


def change_policy(name: str, limits: PolicyLimits) -> Call[CommandDone]:
    return _change("PUT", f"/v1/admin/policies/{segment(name)}", {"limits": limits})
