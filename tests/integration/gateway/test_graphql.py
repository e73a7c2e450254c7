"""GraphQL end to end: the stack as processes (manager, projections, simulated agents, the
gateway on HTTP), queries and mutations signed over HTTP, and subscriptions over
graphql-transport-ws through a second gateway app in this process, on the same NATS and
read models."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi import FastAPI

from projections.settings import ReadStoreSettings
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.manager.settings import NatsSettings
from tests.integration.gateway.graphql_ws import Closed, GraphQLWebSocket
from tests.integration.gateway.signed_client import SignedClient
from tests.integration.gateway.stack import GatewayStack

FINAL = {"TERMINATED", "ERROR", "CANCELLED"}
LIFECYCLE = ["PENDING", "SCHEDULED", "PREPARING", "RUNNING", "TERMINATING", "TERMINATED"]

CREATE = """mutation($input: CreateSessionInput!) {
  createSession(input: $input) { sessionId duplicate } }"""
STATUS_OF = """subscription($id: ID!) { sessionStatus(id: $id) { sessionId version status } }"""
STATUS_WHERE = """subscription($owner: String!) {
  sessionStatus(filter: {owner: $owner}) { sessionId name status } }"""


async def graphql(client: SignedClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST /graphql, signed; the whole response body."""
    reply = await asyncio.to_thread(
        client.post, "/graphql", {"query": query, "variables": variables}
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def data_of(client: SignedClient, query: str, **variables: Any) -> dict[str, Any]:
    body = await graphql(client, query, **variables)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def create_batch(client: SignedClient, name: str) -> str:
    data = await data_of(
        client,
        CREATE,
        input={
            "name": name,
            "image": "berth-small",
            "sessionType": "BATCH",
            "startupCommand": "exit 0",
            "resources": [{"slot": "cpu", "amount": "1"}, {"slot": "mem", "amount": "64m"}],
        },
    )
    session_id: str = data["createSession"]["sessionId"]
    return session_id


def in_lifecycle_order(statuses: list[str]) -> bool:
    """PENDING → SCHEDULED → PREPARING → RUNNING → (TERMINATING) → TERMINATED, nothing else."""
    return statuses in (LIFECYCLE, [s for s in LIFECYCLE if s != "TERMINATING"])


@pytest.fixture(scope="module")
def token(admin: SignedClient) -> str:
    reply = admin.post("/v1/auth/tokens", {"ttl_seconds": 600})
    assert reply.status_code == 201, reply.text
    value: str = reply.json()["token"]
    return value


@pytest.fixture
async def app(stack: GatewayStack) -> AsyncIterator[FastAPI]:
    """A gateway app in this process: same key, NATS and read models as the gateway process."""
    settings = GatewaySettings(
        data_dir=stack.data_dir,
        nats=NatsSettings(url=stack.procs.env["BERTH_NATS_URL"]),
        read_store=ReadStoreSettings(sqlite_path=Path(stack.data_dir) / "readmodels.sqlite3"),
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def ws(app: FastAPI, token: str) -> AsyncIterator[GraphQLWebSocket]:
    socket = GraphQLWebSocket(app)
    await socket.connect({"authorization": f"Bearer {token}"})
    yield socket
    await socket.close()


async def statuses_until_final(
    ws: GraphQLWebSocket, operation: str, session_id: str | None = None
) -> list[str]:
    seen: list[str] = []
    while not seen or seen[-1] not in FINAL:
        message = await ws.next(operation)
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        change = message["payload"]["data"]["sessionStatus"]
        if session_id is None or change["sessionId"] == session_id:
            seen.append(change["status"])
    return seen


async def test_a_batch_session_is_followed_through_every_status_over_websocket(
    ws: GraphQLWebSocket, admin: SignedClient
) -> None:
    # Armed first: a filter subscription reports only what happens after it starts,
    # so a probe session's first report shows that it listens.
    live = await ws.subscribe(STATUS_WHERE, owner=admin.access_key)
    await create_batch(admin, f"probe-{uuid.uuid4().hex[:6]}")
    assert (await ws.next(live))["type"] == "next"

    session_id = await create_batch(admin, f"job-{uuid.uuid4().hex[:6]}")
    followed = await ws.subscribe(STATUS_OF, id=session_id)

    from_filter = await statuses_until_final(ws, live, session_id)
    from_id = await statuses_until_final(ws, followed)
    assert in_lifecycle_order(from_filter), from_filter
    assert in_lifecycle_order(from_id), from_id
    assert (await ws.next(followed))["type"] == "complete"  # a final status ends it
    await ws.complete(live)

    # The raw log of the same session, replayed from the stream.
    tail = await ws.subscribe(
        """subscription($id: ID!) { eventTail(filter: {aggregateId: $id}, last: 100) {
             seq kind aggregateId type fields } }""",
        id=session_id,
    )
    types: list[str] = []
    while not types or types[-1] != "SessionTerminated":
        event = (await ws.next(tail))["payload"]["data"]["eventTail"]
        assert (event["kind"], event["aggregateId"]) == ("session", session_id)
        types.append(event["type"])
    assert types[0] == "SessionRequested"
    assert "SessionRunning" in types
    await ws.complete(tail)


async def test_queries_filter_and_page_and_usage_adds_up(
    ws: GraphQLWebSocket, admin: SignedClient
) -> None:
    name = f"paged-{uuid.uuid4().hex[:6]}"
    ids = [await create_batch(admin, name) for _ in range(3)]
    for session_id in ids:
        followed = await ws.subscribe(STATUS_OF, id=session_id)
        assert (await statuses_until_final(ws, followed))[-1] == "TERMINATED"

    query = """query($name: String!, $after: String) {
      sessions(filter: {name: $name, statuses: [TERMINATED]}, first: 2, after: $after) {
        items { id name status exitCode result kernels { agentId } } nextCursor } }"""
    first = (await data_of(admin, query, name=name, after=None))["sessions"]
    assert len(first["items"]) == 2 and first["nextCursor"]
    second = (await data_of(admin, query, name=name, after=first["nextCursor"]))["sessions"]
    assert len(second["items"]) == 1 and second["nextCursor"] is None
    items = first["items"] + second["items"]
    assert sorted(i["id"] for i in items) == sorted(ids)
    assert {(i["status"], i["exitCode"], i["result"]) for i in items} == {
        ("TERMINATED", 0, "success")
    }
    assert all(len(i["kernels"]) == 1 for i in items)

    usage = await data_of(
        admin, "query { viewer { userId } usage(scope: USER) { key endedKernels kernelSeconds } }"
    )
    mine = [u for u in usage["usage"] if u["key"] == usage["viewer"]["userId"]]
    assert mine and mine[0]["endedKernels"] >= 3
    assert float(mine[0]["kernelSeconds"]) > 0


async def test_a_second_user_cannot_see_the_first_users_session(
    app: FastAPI, ws: GraphQLWebSocket, admin: SignedClient, stack: GatewayStack
) -> None:
    username = f"second-{uuid.uuid4().hex[:6]}"
    await data_of(
        admin,
        'mutation($u: String!) { createUser(domain: "default", username: $u) { id } }',
        u=username,
    )
    issued = (
        await data_of(
            admin,
            "mutation($u: String!) { issueKeypair(username: $u) { accessKey secretKey } }",
            u=username,
        )
    )["issueKeypair"]
    second = stack.client(issued["accessKey"], issued["secretKey"])

    session_id = await create_batch(admin, f"private-{uuid.uuid4().hex[:6]}")
    followed = await ws.subscribe(STATUS_OF, id=session_id)
    await statuses_until_final(ws, followed)

    body = await graphql(second, "query($id: ID!) { session(id: $id) { name } }", id=session_id)
    assert body["errors"][0]["extensions"]["code"] == "not-found"
    listed = await data_of(second, "query { viewer { username } sessions { items { id } } }")
    assert listed["viewer"]["username"] == username
    assert session_id not in {s["id"] for s in listed["sessions"]["items"]}

    # Nor may they follow it, or tail it.
    token = (await asyncio.to_thread(second.post, "/v1/auth/tokens", {"ttl_seconds": 60})).json()
    socket = GraphQLWebSocket(app)
    await socket.connect({"authorization": f"Bearer {token['token']}"})
    try:
        tail = await socket.subscribe(
            "subscription($id: ID!) { eventTail(filter: {aggregateId: $id}) { seq } }",
            id=session_id,
        )
        refused = await socket.next(tail)
        assert refused["type"] == "next"
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "forbidden"
    finally:
        await socket.close()


async def test_a_websocket_without_credentials_is_closed(app: FastAPI) -> None:
    socket = GraphQLWebSocket(app)
    with pytest.raises(Closed) as closed:
        await socket.connect({"authorization": "Bearer not-a-token"})
    assert closed.value.code == 4403
    await socket.close()


async def test_an_unsigned_http_request_is_refused_like_any_rest_route(stack: GatewayStack) -> None:
    reply = await asyncio.to_thread(
        requests.post,
        f"{stack.base_url}/graphql",
        json={"query": "{ viewer { username } }"},
        timeout=10,
    )
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "unauthenticated"
