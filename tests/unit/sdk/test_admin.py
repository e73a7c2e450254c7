"""Administration and cluster calls: bodies as the gateway expects them, results typed."""

from __future__ import annotations

import httpx
from berth_sdk import PolicyLimits, ResourceGroupSpec

from tests.unit.sdk.fake_gateway import FakeGateway

DONE = httpx.Response(201, json={"data": {}, "duplicate": False})


def _body(gateway: FakeGateway, method: str, path: str) -> dict[str, object]:
    (request,) = gateway.sent(method, path)
    body = FakeGateway.body(request)
    assert isinstance(body, dict)
    return body


def test_creates_carry_only_what_was_given_and_a_request_id() -> None:
    gateway = FakeGateway()
    for path in (
        "/v1/admin/domains",
        "/v1/admin/projects",
        "/v1/admin/users",
        "/v1/admin/policies",
    ):
        gateway.route("POST", path, DONE)
    with gateway.client() as berth:
        berth.create_domain("research", "the lab")
        berth.create_project("vision", policy="gpu")
        berth.create_user("ann@example.org", domain="research", role="domain_admin")
        berth.define_policy(
            "gpu",
            PolicyLimits(total_resource_slots={"cuda.device": "2"}, max_concurrent_sessions=4),
        )
    bodies = {
        path: _body(gateway, "POST", path)
        for path in (
            "/v1/admin/domains",
            "/v1/admin/projects",
            "/v1/admin/users",
            "/v1/admin/policies",
        )
    }
    for body in bodies.values():
        assert isinstance(body.pop("request_id"), str)
    assert bodies["/v1/admin/domains"] == {"name": "research", "description": "the lab"}
    assert bodies["/v1/admin/projects"] == {"name": "vision", "policy": "gpu", "description": ""}
    assert bodies["/v1/admin/users"] == {
        "username": "ann@example.org",
        "domain": "research",
        "email": "",
        "role": "domain_admin",
    }
    assert bodies["/v1/admin/policies"] == {
        "name": "gpu",
        "limits": {"total_resource_slots": {"cuda.device": "2"}, "max_concurrent_sessions": 4},
    }


def test_user_changes_and_membership() -> None:
    gateway = FakeGateway()
    gateway.route(
        "PATCH",
        "/v1/admin/users/ann@example.org",
        {"username": "ann@example.org", "changed": ["active"]},
    )
    gateway.route(
        "POST", "/v1/admin/users/ann@example.org/projects", {"data": {}, "duplicate": False}
    )
    with gateway.client() as berth:
        changed = berth.change_user("ann@example.org", active=False)
        berth.add_user_to_project("ann@example.org", "vision")
    assert changed.changed == ["active"]
    assert _body(gateway, "PATCH", "/v1/admin/users/ann@example.org") == {"active": False}
    assert _body(gateway, "POST", "/v1/admin/users/ann@example.org/projects") == {
        "project": "vision"
    }


def test_a_keypair_secret_is_in_the_issue_answer_only() -> None:
    gateway = FakeGateway()
    gateway.route(
        "POST",
        "/v1/admin/keypairs",
        httpx.Response(201, json={"access_key": "AK2", "secret_key": "SK2", "duplicate": False}),
    )
    gateway.route(
        "GET",
        "/v1/admin/keypairs",
        {
            "items": [
                {
                    "access_key": "AK2",
                    "user_id": "u",
                    "username": "ann",
                    "domain": "default",
                    "policy": "default",
                    "active": True,
                    "status_reason": "",
                    "created_at": "2026-11-27T10:00:00+00:00",
                    "updated_at": "2026-11-27T10:00:00+00:00",
                }
            ],
            "next_cursor": None,
        },
    )
    with gateway.client() as berth:
        issued = berth.issue_keypair("ann")
        (listed,) = berth.list_keypairs(username="ann")
    assert (issued.access_key, issued.secret_key, issued.username) == ("AK2", "SK2", "ann")
    assert listed.secret_key is None and listed.username == "ann"
    assert dict(gateway.sent("GET", "/v1/admin/keypairs")[0].url.params) == {
        "username": "ann",
        "limit": "500",
    }


async def test_paged_admin_listings_are_read_to_the_end() -> None:
    gateway = FakeGateway()
    gateway.replies(
        "GET",
        "/v1/agents",
        [
            {"items": [{"id": "a1", "name": "n1", "capacity": {"cpu": "8"}}], "next_cursor": "c"},
            {"items": [{"id": "a2", "name": "n2", "simulated": True}], "next_cursor": None},
        ],
    )
    async with gateway.async_client() as berth:
        agents = await berth.list_agents(resource_group="default")
    assert [a.id for a in agents] == ["a1", "a2"]
    assert agents[1].simulated and agents[0].capacity == {"cpu": "8"}


def test_resource_group_changes_send_only_what_changes() -> None:
    gateway = FakeGateway()
    gateway.route("PATCH", "/v1/resource-groups/gpu", {"data": {}, "duplicate": False})
    gateway.route(
        "GET",
        "/v1/images",
        {"items": [{"name": "berth-small", "kind": "test", "language": None, "agents": 2}]},
    )
    with gateway.client() as berth:
        berth.change_resource_group("gpu", ResourceGroupSpec(queue_order="drf"))
        (image,) = berth.list_images()
    body = _body(gateway, "PATCH", "/v1/resource-groups/gpu")
    body.pop("request_id")
    assert body == {"queue_order": "drf"}
    assert (image.name, image.language, image.agents) == ("berth-small", None, 2)
