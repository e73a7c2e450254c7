"""Sessions through the SDK: what is sent, what comes back, listings page by page, waiting."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from berth_sdk import Mount, SessionSpec, WaitTimeout

from tests.unit.sdk.fake_gateway import FakeGateway, error, session

SID = "11111111-1111-1111-1111-111111111111"


def test_create_sends_what_was_given_and_a_request_id() -> None:
    gateway = FakeGateway()
    gateway.route(
        "POST", "/v1/sessions", httpx.Response(201, json={"session_id": SID, "status": "PENDING"})
    )
    spec = SessionSpec(
        name="train",
        image="berth-python",
        session_type="batch",
        resources={"cpu": "2", "mem": "1g"},
        mounts=[Mount(source="data", target="/data", read_only=True)],
        startup_command="python train.py",
        starts_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
    )
    with gateway.client() as berth:
        accepted = berth.create_session(spec)
    assert (accepted.session_id, accepted.status, accepted.duplicate) == (SID, "PENDING", False)
    (sent,) = gateway.sent("POST", "/v1/sessions")
    body = FakeGateway.body(sent)
    request_id = body.pop("request_id")
    assert len(request_id) == 36
    assert body == {
        "name": "train",
        "image": "berth-python",
        "session_type": "batch",
        "resources": {"cpu": "2", "mem": "1g"},
        "mounts": [{"source": "data", "target": "/data", "read_only": True}],
        "startup_command": "python train.py",
        "starts_at": "2026-11-27T12:00:00Z",
    }
    assert sent.headers["Content-Type"] == "application/json"


def test_a_given_request_id_is_kept() -> None:
    gateway = FakeGateway()
    gateway.route(
        "POST", "/v1/sessions", {"session_id": SID, "status": "RUNNING", "duplicate": True}
    )
    with gateway.client() as berth:
        accepted = berth.create_session(SessionSpec(name="a", image="b", request_id="mine-1"))
    assert accepted.duplicate
    assert FakeGateway.body(gateway.requests[0])["request_id"] == "mine-1"


def test_a_session_is_parsed_with_types() -> None:
    gateway = FakeGateway()
    body = session(
        status="TERMINATED",
        exit_code=3,
        result="failure",
        agents=["a1"],
        kernels=[{"kernel_id": "k1", "agent_id": "a1", "index": 0}],
        extra_field_from_a_newer_gateway=True,
    )
    gateway.route("GET", f"/v1/sessions/{SID}", body)
    with gateway.client() as berth:
        found = berth.get_session(SID)
    assert found.ended and found.exit_code == 3 and found.result == "failure"
    assert found.kernels[0].agent_id == "a1"
    assert found.created_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert found.resources == {"cpu": "1", "mem": "268435456"}


def test_iterating_follows_every_page_with_the_same_filters() -> None:
    gateway = FakeGateway()

    def pages(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        if cursor is None:
            return httpx.Response(
                200, json={"items": [session("a"), session("b")], "next_cursor": "p2"}
            )
        return httpx.Response(200, json={"items": [session("c")], "next_cursor": None})

    gateway.route("GET", "/v1/sessions", pages)
    with gateway.client() as berth:
        ids = [
            s.id
            for s in berth.iter_sessions(statuses=["RUNNING", "PENDING"], project="p", page_size=2)
        ]
    assert ids == ["a", "b", "c"]
    first, second = (dict(r.url.params) for r in gateway.requests)
    assert first == {"status": "RUNNING,PENDING", "project": "p", "limit": "2"}
    assert second == first | {"cursor": "p2"}


async def test_the_async_client_iterates_the_same_way() -> None:
    gateway = FakeGateway()
    gateway.replies(
        "GET",
        "/v1/sessions",
        [
            {"items": [session("a")], "next_cursor": "p2"},
            {"items": [session("b")], "next_cursor": None},
        ],
    )
    async with gateway.async_client() as berth:
        ids = [s.id async for s in berth.iter_sessions()]
        page = await berth.list_sessions(limit=1)
    assert ids == ["a", "b"]
    assert page.next_cursor is None  # the fake's last answer repeats


def test_history_exec_destroy_and_telemetry() -> None:
    gateway = FakeGateway()
    gateway.route(
        "GET",
        f"/v1/sessions/{SID}/history",
        {
            "items": [
                {"status": "PENDING", "reason": "requested", "at": "2026-11-27T10:00:00+00:00"}
            ]
        },
    )
    gateway.route(
        "POST", f"/v1/sessions/{SID}/exec", {"exit_code": 0, "output": "hi\n", "truncated": False}
    )
    gateway.route(
        "DELETE",
        f"/v1/sessions/{SID}",
        httpx.Response(202, json={"session_id": SID, "status": "TERMINATING"}),
    )
    gateway.route(
        "GET",
        f"/v1/sessions/{SID}/telemetry",
        {
            "items": [
                {
                    "kernel_id": "k1",
                    "agent_id": "a1",
                    "index": 0,
                    "observed_at": "2026-11-27T10:00:05+00:00",
                    "cpu_percent": 150.0,
                    "mem_bytes": 1024,
                    "mem_limit_bytes": 4096,
                    "accelerators": {"mock:0": {"util_percent": 40.0}},
                }
            ]
        },
    )
    with gateway.client() as berth:
        (change,) = berth.session_history(SID)
        result = berth.exec(SID, ["sh", "-c", "echo hi"], timeout=5, environ={"A": "1"})
        destroyed = berth.destroy_session(SID)
        (usage,) = berth.session_telemetry(SID)
    assert (change.status, change.reason) == ("PENDING", "requested")
    assert (result.exit_code, result.output) == (0, "hi\n")
    assert FakeGateway.body(gateway.sent("POST", f"/v1/sessions/{SID}/exec")[0]) == {
        "command": ["sh", "-c", "echo hi"],
        "timeout": 5,
        "environ": {"A": "1"},
    }
    assert destroyed.status == "TERMINATING"
    assert usage.cpu_percent == 150.0 and usage.accelerators["mock:0"]["util_percent"] == 40.0


def test_logs_once_reads_the_next_offset() -> None:
    gateway = FakeGateway()
    gateway.route(
        "GET",
        f"/v1/sessions/{SID}/logs",
        httpx.Response(200, text="hello\n", headers={"X-Berth-Next-Offset": "106"}),
    )
    with gateway.client() as berth:
        chunk = berth.session_logs(SID, offset=100, kernel=1)
    assert (chunk.data, chunk.next_offset) == ("hello\n", 106)
    assert dict(gateway.requests[0].url.params) == {
        "offset": "100",
        "follow": "false",
        "kernel": "1",
    }


def test_wait_for_polls_until_the_status_and_reports_each_change() -> None:
    gateway = FakeGateway()
    gateway.replies(
        "GET",
        f"/v1/sessions/{SID}",
        [session(status=s) for s in ("PENDING", "PENDING", "SCHEDULED", "PREPARING", "RUNNING")],
    )
    with gateway.client() as berth:
        seen = [s.status for s in berth.watch_session(SID, {"RUNNING"})]
    assert seen == ["PENDING", "SCHEDULED", "PREPARING", "RUNNING"]
    assert len(gateway.requests) == 5


async def test_wait_for_returns_a_session_that_ended_otherwise() -> None:
    gateway = FakeGateway()
    gateway.replies(
        "GET",
        f"/v1/sessions/{SID}",
        [session(status="PENDING"), session(status="ERROR", status_reason="image missing")],
    )
    async with gateway.async_client() as berth:
        ended = await berth.wait_for(SID, {"RUNNING"})
    assert (ended.status, ended.status_reason) == ("ERROR", "image missing")


def test_wait_for_gives_up_at_its_timeout() -> None:
    gateway = FakeGateway()
    gateway.route("GET", f"/v1/sessions/{SID}", session(status="PENDING"))
    with gateway.client() as berth, pytest.raises(WaitTimeout, match="RUNNING") as raised:
        berth.wait_for(SID, {"RUNNING"}, timeout=0.05)
    assert raised.value.last_status == "PENDING"


def test_wait_for_a_session_that_does_not_exist_is_not_found() -> None:
    gateway = FakeGateway()
    gateway.route("GET", f"/v1/sessions/{SID}", error(404, "not-found", "no session"))
    with gateway.client() as berth, pytest.raises(Exception, match="no session") as raised:
        berth.wait_for(SID, {"RUNNING"})
    assert type(raised.value).__name__ == "NotFound"


def test_a_session_just_asked_for_is_waited_for_until_the_read_models_show_it() -> None:
    """The gateway answers a create before its read models hold the session."""
    gateway = FakeGateway()
    gateway.route("POST", "/v1/sessions", {"session_id": SID, "status": "PENDING"})
    gateway.replies(
        "GET",
        f"/v1/sessions/{SID}",
        [
            error(404, "not-found", "no session"),
            error(404, "not-found", "no session"),
            session(status="RUNNING"),
        ],
    )
    with gateway.client() as berth:
        accepted = berth.create_session(SessionSpec(name="a", image="b"))
        assert berth.wait_for(accepted.session_id, {"RUNNING"}).status == "RUNNING"
