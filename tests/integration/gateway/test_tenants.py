"""Administrators make users and keypairs; who sees and may touch which sessions."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.integration.gateway.helpers import (
    create_session,
    no_events_of,
    refusal,
    wait_session,
    wait_until,
)
from tests.integration.gateway.signed_client import SignedClient
from tests.integration.gateway.stack import GatewayStack


def _user(admin: SignedClient, stack: GatewayStack, **fields: Any) -> SignedClient:
    made = admin.post("/v1/admin/users", fields)
    assert made.status_code == 201, made.text
    issued = admin.post("/v1/admin/keypairs", {"username": fields["username"]})
    assert issued.status_code == 201, issued.text
    keys = issued.json()
    assert keys["secret_key"] and keys["duplicate"] is False
    return stack.client(keys["access_key"], keys["secret_key"])


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_a_new_user_signs_in_sees_only_their_own_and_cannot_administer(
    admin: SignedClient, stack: GatewayStack
) -> None:
    name = _unique("carol")
    carol = _user(admin, stack, username=name)
    who = carol.get("/v1/auth/whoami").json()
    assert (who["username"], who["role"], who["projects"]) == (name, "user", [])

    # Not in the default project yet: the manager refuses the session.
    refused = carol.post(
        "/v1/sessions", {"name": "c", "image": "berth-small", "resources": {"cpu": 1}}
    )
    assert refusal(refused) == (403, "not-a-member")
    assert admin.post(f"/v1/admin/users/{name}/projects", {"project": "default"}).status_code == 200
    # The gateway remembers a keypair for a second; it then sees the new membership.
    wait_until(lambda: carol.get("/v1/auth/whoami").json()["projects"] == ["default"], "membership")
    own = create_session(carol, "carols")
    theirs = create_session(admin, "admins")
    wait_session(admin, own, "RUNNING")
    wait_session(admin, theirs, "RUNNING")

    # Project members read each other's sessions, and touch only their own.
    assert carol.get(f"/v1/sessions/{theirs}").status_code == 200
    assert refusal(carol.delete(f"/v1/sessions/{theirs}")) == (403, "forbidden")
    assert refusal(carol.post(f"/v1/sessions/{theirs}/exec", {"command": ["id"]})) == (
        403,
        "forbidden",
    )
    mine = carol.get("/v1/sessions", params={"owner": carol.access_key}).json()["items"]
    assert [s["id"] for s in mine] == [own]
    # An admin lists one keypair's sessions through its user (no index by access key) ...
    hers = admin.get("/v1/sessions", params={"owner": carol.access_key}).json()["items"]
    assert [s["id"] for s in hers] == [own]
    # ... and a key no keypair has owns nothing.
    nobodys = admin.get("/v1/sessions", params={"owner": "AKNOBODY000000000000"}).json()
    assert nobodys["items"] == []

    with no_events_of(stack.data_dir.parent / "events.sqlite3", "domain.", "user."):
        assert refusal(carol.get("/v1/admin/users")) == (403, "forbidden")
        assert refusal(carol.post("/v1/admin/domains", {"name": "mine"})) == (403, "forbidden")
        assert refusal(carol.post("/v1/resource-groups", {"name": "mine"})) == (403, "forbidden")
    assert carol.delete(f"/v1/sessions/{own}").status_code == 202


def test_a_user_outside_a_project_does_not_see_its_sessions(
    admin: SignedClient, stack: GatewayStack
) -> None:
    dave = _user(admin, stack, username=_unique("dave"))
    theirs = create_session(admin, "private")
    wait_session(admin, theirs, "RUNNING")
    assert refusal(dave.get(f"/v1/sessions/{theirs}")) == (404, "not-found")
    assert refusal(dave.get(f"/v1/sessions/{theirs}/history")) == (404, "not-found")
    assert dave.get("/v1/sessions").json()["items"] == []
    assert refusal(dave.delete(f"/v1/sessions/{theirs}")) == (404, "session-not-found")


def test_a_domain_admin_manages_their_domain_only(admin: SignedClient, stack: GatewayStack) -> None:
    domain = _unique("lab")
    assert admin.post("/v1/admin/domains", {"name": domain}).status_code == 201
    assert refusal(admin.post("/v1/admin/domains", {"name": domain})) == (409, "domain-exists")
    boss = _user(admin, stack, username=_unique("erin"), domain=domain, role="domain_admin")
    project = boss.post("/v1/admin/projects", {"name": "ml"})
    assert project.status_code == 201, project.text
    worker_name = _unique("finn")
    worker = _user(boss, stack, username=worker_name)
    assert worker.get("/v1/auth/whoami").json()["domain"] == domain

    def listed() -> list[str] | None:
        users = boss.get("/v1/admin/users").json()["items"]
        return sorted(u["username"] for u in users) if len(users) == 2 else None

    names = wait_until(listed, "the domain's users listed")
    assert worker_name in names and "admin" not in names
    domains = boss.get("/v1/admin/domains").json()["items"]
    assert [d["name"] for d in domains] == [domain]
    assert refusal(
        boss.post("/v1/admin/users", {"username": _unique("x"), "domain": "default"})
    ) == (
        403,
        "forbidden",
    )
    assert refusal(boss.patch(f"/v1/admin/users/{worker_name}", {"role": "superadmin"})) == (
        403,
        "forbidden",
    )
    changed = boss.patch(f"/v1/admin/users/{worker_name}", {"role": "domain_admin"})
    assert changed.json() == {"username": worker_name, "changed": ["role"]}


def test_revoking_a_keypair_or_deactivating_its_user_ends_its_access(
    admin: SignedClient, stack: GatewayStack
) -> None:
    name = _unique("gwen")
    gwen = _user(admin, stack, username=name)
    assert gwen.get("/v1/auth/whoami").status_code == 200
    token = gwen.post("/v1/auth/tokens", {"ttl_seconds": 600}).json()["token"]
    revoked = admin.delete(f"/v1/admin/keypairs/{gwen.access_key}")
    assert revoked.status_code == 200
    assert refusal(gwen.get("/v1/auth/whoami")) == (401, "unauthenticated")

    bearer = {"Authorization": f"Bearer {token}"}
    assert (
        requests.get(f"{stack.base_url}/v1/auth/whoami", headers=bearer, timeout=10).status_code
        == 401
    )
    listed = wait_until(
        lambda: [
            k
            for k in admin.get("/v1/admin/keypairs", params={"username": name}).json()["items"]
            if not k["active"]
        ],
        "the revoked keypair listed",
    )
    assert listed[0]["access_key"] == gwen.access_key and "secret_key" not in listed[0]

    again = admin.post("/v1/admin/keypairs", {"username": name}).json()
    hal = stack.client(again["access_key"], again["secret_key"])
    assert hal.get("/v1/auth/whoami").status_code == 200
    assert admin.patch(f"/v1/admin/users/{name}", {"active": False}).json()["changed"] == ["active"]
    wait_until(
        lambda: hal.get("/v1/auth/whoami").status_code == 401, "the deactivated user refused"
    )


def test_policies_and_resource_groups_are_shaped_by_admins(admin: SignedClient) -> None:
    name = _unique("tiny")
    made = admin.post(
        "/v1/admin/policies",
        {"name": name, "limits": {"total_resource_slots": {"cpu": 2, "mem": "1g"}}},
    )
    assert made.status_code == 201, made.text
    policy = wait_until(
        lambda: next(
            (p for p in admin.get("/v1/admin/policies").json()["items"] if p["name"] == name), None
        ),
        "the policy listed",
    )
    assert policy["limits"]["total_resource_slots"] == {"cpu": "2", "mem": "1073741824"}
    changed = admin.put(f"/v1/admin/policies/{name}", {"limits": {"max_concurrent_sessions": 1}})
    assert changed.status_code == 200, changed.text
    assert refusal(admin.put(f"/v1/admin/policies/{_unique('none')}", {"limits": {}})) == (
        404,
        "policy-not-found",
    )
    assert refusal(
        admin.post(
            "/v1/admin/policies",
            {"name": name, "limits": {"total_resource_slots": {"cpu": "lots"}}},
        )
    ) == (
        422,
        "invalid",
    )

    group = _unique("night")
    assert (
        admin.post("/v1/resource-groups", {"name": group, "queue_order": "lifo"}).status_code == 201
    )
    shown = wait_until(
        lambda: (
            admin.get(f"/v1/resource-groups/{group}").json()
            if admin.get(f"/v1/resource-groups/{group}").status_code == 200
            else None
        ),
        "the group listed",
    )
    assert (shown["queue_order"], shown["agent_selector"]) == ("lifo", "concentrated")
    patched = admin.patch(f"/v1/resource-groups/{group}", {"agent_selector": "dispersed"})
    assert patched.status_code == 200, patched.text
    wait_until(
        lambda: admin.get(f"/v1/resource-groups/{group}").json()["agent_selector"] == "dispersed",
        "the policy change projected",
    )
    assert admin.get(f"/v1/resource-groups/{group}").json()["queue_order"] == "lifo"
    assert refusal(admin.patch("/v1/resource-groups/nowhere", {"max_attempts": 2})) == (
        404,
        "not-found",
    )
