"""Sessions through the REST API, against the real manager, projections and (simulated) agents."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

import msgspec
import nats
import pytest
import requests

from events.agent_rpc import AgentTelemetry, KernelUsage, telemetry_subject
from tests.integration.gateway.fake_agent import LOG_PIECES, FakeAgentRpc
from tests.integration.gateway.helpers import (
    create_session,
    no_events_of,
    refusal,
    wait_session,
    wait_until,
)
from tests.integration.gateway.signed_client import SignedClient
from tests.integration.gateway.stack import GatewayStack


def test_a_session_is_created_listed_shown_and_destroyed(admin: SignedClient) -> None:
    session_id = create_session(admin, "lifecycle")
    running = wait_session(admin, session_id, "RUNNING")
    assert running["name"] == "lifecycle" and running["image"] == "berth-small"
    assert running["owner_access_key"] == admin.access_key
    assert running["resources"] == {"cpu": "1", "mem": "67108864"}
    assert [k["index"] for k in running["kernels"]] == [0]
    assert running["kernels"][0]["agent_id"] in running["agents"]

    listed = admin.get("/v1/sessions", params={"status": "RUNNING", "name": "lifecycle"}).json()
    assert [s["id"] for s in listed["items"]] == [session_id]
    assert listed["next_cursor"] is None

    destroyed = admin.delete(f"/v1/sessions/{session_id}")
    assert destroyed.status_code == 202
    assert destroyed.json()["status"] == "TERMINATING"
    wait_session(admin, session_id, "TERMINATED")
    history = admin.get(f"/v1/sessions/{session_id}/history").json()["items"]
    assert [h["status"] for h in history] == [
        "PENDING",
        "SCHEDULED",
        "PREPARING",
        "RUNNING",
        "TERMINATING",
        "TERMINATED",
    ]
    assert "destroyed by admin" in history[4]["reason"]
    again = admin.delete(f"/v1/sessions/{session_id}")
    assert refusal(again) == (409, "already-ended")


def test_a_batch_session_ends_with_its_exit_code(admin: SignedClient) -> None:
    session_id = create_session(admin, "batch", session_type="batch", startup_command="exit 3")
    ended = wait_session(admin, session_id, "TERMINATED", "ERROR")
    assert (ended["status"], ended["exit_code"], ended["result"]) == ("TERMINATED", 3, "failure")


def test_a_pending_session_destroyed_is_cancelled(admin: SignedClient) -> None:
    later = datetime(2099, 1, 1, tzinfo=UTC).isoformat()
    session_id = create_session(admin, "someday", starts_at=later)
    wait_session(admin, session_id, "PENDING")
    reply = admin.delete(f"/v1/sessions/{session_id}")
    assert (reply.status_code, reply.json()["status"]) == (202, "CANCELLED")
    wait_session(admin, session_id, "CANCELLED")


def test_a_repeated_request_id_gives_the_same_session(admin: SignedClient) -> None:
    request_id = uuid.uuid4().hex
    first = create_session(admin, "once", request_id=request_id)
    again = admin.post(
        "/v1/sessions",
        {"name": "once", "image": "berth-small", "resources": {"cpu": 1}, "request_id": request_id},
    )
    assert again.status_code == 201
    assert again.json()["session_id"] == first and again.json()["duplicate"] is True


def test_lists_page_with_a_cursor_newest_first(admin: SignedClient) -> None:
    project_tag = uuid.uuid4().hex[:8]
    ids = [create_session(admin, f"page-{project_tag}-{n}") for n in range(5)]
    for session_id in ids:
        wait_session(admin, session_id, "RUNNING", "PENDING", "SCHEDULED", "PREPARING")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin.get("/v1/sessions", params=params).json()
        seen.extend(s["id"] for s in page["items"] if s["name"].startswith(f"page-{project_tag}"))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert refusal(admin.get("/v1/sessions", params={"cursor": "not-a-cursor"})) == (
        400,
        "bad-request",
    )


def test_bad_input_is_422_and_writes_nothing(admin: SignedClient, stack: GatewayStack) -> None:
    events = stack.data_dir.parent / "events.sqlite3"
    with no_events_of(events, "session.SessionRequested"):
        for body in (
            {"name": "no-image"},
            {"name": "x", "image": "berth-small", "cluster_size": 0},
            {"name": "x", "image": "berth-small", "session_type": "gpu"},
            {"name": "x", "image": "berth-small", "colour": "red"},
            {"name": "x", "image": "berth-small", "starts_at": "2030-01-01T00:00:00"},
        ):
            assert refusal(admin.post("/v1/sessions", body)) == (422, "invalid"), body


def test_manager_refusals_keep_its_code_and_write_nothing(
    admin: SignedClient, stack: GatewayStack
) -> None:
    events = stack.data_dir.parent / "events.sqlite3"
    with no_events_of(events, "session.SessionRequested", "rgroup.SessionEnqueued"):
        unknown = admin.post(
            "/v1/sessions", {"name": "x", "image": "no-such-image", "resources": {"cpu": 1}}
        )
        assert refusal(unknown) == (400, "unknown-image")
        assert "no-such-image" in unknown.json()["error"]["message"]
        no_group = admin.post(
            "/v1/sessions",
            {"name": "x", "image": "berth-small", "resources": {"cpu": 1}, "resource_group": "no"},
        )
        assert refusal(no_group) == (400, "unknown-resource-group")
        huge = admin.post(
            "/v1/sessions", {"name": "x", "image": "berth-small", "resources": {"cpu": 1000}}
        )
        assert refusal(huge) == (400, "unschedulable")
        batch = admin.post(
            "/v1/sessions",
            {"name": "x", "image": "berth-small", "resources": {"cpu": 1}, "session_type": "batch"},
        )
        assert refusal(batch) == (400, "missing-startup-command")
    assert refusal(admin.delete(f"/v1/sessions/{uuid.uuid4()}")) == (404, "session-not-found")
    assert refusal(admin.get(f"/v1/sessions/{uuid.uuid4()}")) == (404, "not-found")


def test_oversized_bodies_are_refused_with_413(admin: SignedClient) -> None:
    big = {"name": "big", "image": "berth-small", "environ": {"X": "y" * (1024 * 1024)}}
    assert refusal(admin.post("/v1/sessions", big)) == (413, "too-large")

    # Without a Content-Length (chunked), counted as it arrives.
    def chunks() -> object:
        for _ in range(17):  # just past 1 MiB
            yield b"x" * 64 * 1024

    digest = hashlib.sha256(b"").hexdigest()
    prepared = admin.prepare("POST", "/v1/sessions", content_sha256=digest)
    # The body's length is unknown up front: no Content-Length, chunked instead.
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    reply = requests.post(prepared.url, data=chunks(), headers=headers, timeout=30)
    assert refusal(reply) == (413, "too-large")


def test_logs_are_read_and_followed_from_the_kernels_agent(
    admin: SignedClient, stack: GatewayStack
) -> None:
    session_id = create_session(admin, "logs")
    wait_session(admin, session_id, "RUNNING")
    with FakeAgentRpc(stack.nats_url):
        first = admin.get(f"/v1/sessions/{session_id}/logs")
        assert first.status_code == 200, first.text
        assert first.headers["content-type"].startswith("text/plain")
        assert first.text == LOG_PIECES[0]
        assert first.headers["X-Berth-Next-Offset"] == str(len(LOG_PIECES[0]))
        second = admin.get(f"/v1/sessions/{session_id}/logs", params={"offset": len(LOG_PIECES[0])})
        assert second.text == LOG_PIECES[1]
        followed = admin.get(
            f"/v1/sessions/{session_id}/logs", params={"follow": "true"}, stream=True
        )
        assert followed.headers.get("transfer-encoding") == "chunked"
        pieces = [c.decode() for c in followed.iter_content(chunk_size=None) if c]
        assert "".join(pieces) == "".join(LOG_PIECES)
        assert len(pieces) == len(LOG_PIECES)
    assert refusal(admin.get(f"/v1/sessions/{session_id}/logs", params={"kernel": 3})) == (
        409,
        "conflict",
    )


def test_exec_runs_in_the_kernel_and_agent_silence_is_503(
    admin: SignedClient, stack: GatewayStack
) -> None:
    session_id = create_session(admin, "exec")
    wait_session(admin, session_id, "RUNNING")
    with FakeAgentRpc(stack.nats_url) as agent:
        ran = admin.post(
            f"/v1/sessions/{session_id}/exec", {"command": ["echo", "hi"], "timeout": 5}
        )
        assert ran.status_code == 200, ran.text
        assert ran.json() == {"exit_code": 0, "output": "echo hi\n", "truncated": False}
        assert (
            str(agent.exec_requests[-1].kernel_id)
            == (admin.get(f"/v1/sessions/{session_id}").json()["kernels"][0]["kernel_id"])
        )
        failed = admin.post(f"/v1/sessions/{session_id}/exec", {"command": ["false"]})
        assert failed.json()["exit_code"] == 1
        gone = admin.post(f"/v1/sessions/{session_id}/exec", {"command": ["missing"]})
        assert refusal(gone) == (409, "kernel-not-running")
    silent = admin.post(f"/v1/sessions/{session_id}/exec", {"command": ["echo"]})
    assert refusal(silent) == (503, "unavailable")


async def test_telemetry_shows_the_latest_report_of_each_kernel(
    admin: SignedClient, stack: GatewayStack
) -> None:
    session_id = create_session(admin, "telemetry")
    session = wait_session(admin, session_id, "RUNNING")
    kernel = session["kernels"][0]
    assert admin.get(f"/v1/sessions/{session_id}/telemetry").json() == {"items": []}
    nc = await nats.connect(stack.nats_url)
    try:
        for cpu in (50.0, 75.0):
            report = AgentTelemetry(
                agent_id=uuid.UUID(kernel["agent_id"]),
                observed_at=datetime.now(UTC),
                kernels=[
                    KernelUsage(
                        session_id=uuid.UUID(session_id),
                        kernel_id=uuid.UUID(kernel["kernel_id"]),
                        cpu_percent=cpu,
                        mem_bytes=1024,
                        mem_limit_bytes=67108864,
                    )
                ],
            )
            await nc.publish(telemetry_subject(kernel["agent_id"]), msgspec.json.encode(report))
        await nc.flush()
    finally:
        await nc.close()

    def latest() -> object:
        items = admin.get(f"/v1/sessions/{session_id}/telemetry").json()["items"]
        return items if items and items[0]["cpu_percent"] == 75.0 else None

    items = wait_until(latest, "the latest telemetry")
    assert items[0]["kernel_id"] == kernel["kernel_id"] and items[0]["index"] == 0
    assert items[0]["mem_limit_bytes"] == 67108864


@pytest.mark.parametrize("path", ["/v1/images", "/v1/resource-groups"])
def test_cluster_lists_show_what_the_agents_hold(admin: SignedClient, path: str) -> None:
    items = admin.get(path).json()["items"]
    if path == "/v1/images":
        assert {(i["name"], i["agents"]) for i in items} == {
            ("berth-small", 2),
            ("berth-python", 2),
        }
    else:
        default = next(g for g in items if g["name"] == "default")
        assert default["agents"] == 2 and default["capacity"]["cpu"] == "16"
        assert json.dumps(default)  # plain JSON all through
