"""Subscriptions: pushed when the read model commits, every status in order, only what the
caller may see; and a WebSocket authenticated by its connection_init payload."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, cast

import pytest
from strawberry.exceptions import ConnectionRejectionError

from services.gateway.graphql import session_follow
from services.gateway.graphql.router import BerthGraphQLRouter
from services.gateway.graphql.schema import BerthSchema
from services.gateway.state import Principal
from tests.unit.gateway.graphql.fakes import (
    ALICE,
    BOB,
    CAROL,
    ROOT,
    Gateway,
    Projected,
    lifecycle,
    lost,
    new_id,
    recovered,
    registered,
    requested,
)

STATUS_OF = """subscription($id: ID!) {
  sessionStatus(id: $id) { sessionId name version status reason } }"""
STATUS_WHERE = """subscription($filter: SessionFilter) {
  sessionStatus(filter: $filter) { name status } }"""


async def subscribe(
    schema: BerthSchema, gateway: Gateway, who: Principal, query: str, **variables: Any
) -> AsyncGenerator[Any, None]:
    stream = await schema.subscribe(query, variables, context_value=gateway.context(who))
    assert not hasattr(stream, "errors"), stream
    return cast(AsyncGenerator[Any, None], stream)


async def take(stream: AsyncGenerator[Any, None], count: int) -> list[dict[str, Any]]:
    got = []
    async with asyncio.timeout(10):
        for _ in range(count):
            result = await anext(stream)
            assert result.errors is None, result.errors
            got.append(next(iter(result.data.values())))
    return got


async def test_one_session_yields_every_status_in_order_even_when_projected_in_one_batch(
    schema: BerthSchema, gateway: Gateway, projected: Projected
) -> None:
    agent, kernel = new_id(), new_id()
    event = requested(ALICE, "job")
    session = event.originator_id
    await projected.apply(registered(agent), event)
    stream = await subscribe(schema, gateway, ALICE, STATUS_OF, id=str(session))
    assert [c["status"] for c in await take(stream, 1)] == ["PENDING"]

    await projected.apply(*lifecycle(session, agent, kernel))  # one batch, four statuses
    changes = await take(stream, 4)
    assert [(c["status"], c["version"]) for c in changes] == [
        ("SCHEDULED", 2),
        ("PREPARING", 3),
        ("RUNNING", 4),
        ("TERMINATED", 5),
    ]
    assert changes[-1]["reason"] == "exited"
    with pytest.raises(StopAsyncIteration):  # a final status ends the subscription
        await anext(stream)


async def test_a_session_requested_a_moment_ago_is_waited_for(
    schema: BerthSchema, gateway: Gateway, projected: Projected
) -> None:
    event = requested(ALICE, "soon")
    stream = await subscribe(schema, gateway, ALICE, STATUS_OF, id=str(event.originator_id))
    first = asyncio.ensure_future(take(stream, 1))
    await asyncio.sleep(0.1)
    await projected.apply(event)
    assert [c["status"] for c in await first] == ["PENDING"]
    await stream.aclose()


async def test_another_users_session_cannot_be_followed(
    schema: BerthSchema, gateway: Gateway, projected: Projected, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_follow, "APPEAR_SECONDS", 0.3)
    event = requested(ALICE, "private")
    await projected.apply(event)
    stream = await subscribe(schema, gateway, CAROL, STATUS_OF, id=str(event.originator_id))
    result = await anext(stream)
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "not-found", "status": 404}


async def test_a_filter_follows_the_matching_sessions_the_caller_may_see(
    schema: BerthSchema, gateway: Gateway, projected: Projected
) -> None:
    agent = new_id()
    earlier = requested(ALICE, "earlier", project="ml")
    await projected.apply(registered(agent), earlier)
    wanted = {"project": "ml", "statuses": ["PENDING", "RUNNING"]}
    stream = await subscribe(schema, gateway, BOB, STATUS_WHERE, filter=wanted)
    arriving = asyncio.ensure_future(take(stream, 3))
    await asyncio.sleep(0.05)
    ml, private, carol = (
        requested(ALICE, "ml-job", project="ml"),
        requested(ALICE, "private-job"),
        requested(CAROL, "carol-job"),
    )
    await projected.apply(ml, private, carol)
    await projected.apply(*lifecycle(ml.originator_id, agent, new_id()))
    await projected.apply(requested(ALICE, "next-job", project="ml"))
    # Nothing from before the subscription, nothing unseen, nothing unmatched, in order.
    assert await arriving == [
        {"name": "ml-job", "status": "PENDING"},
        {"name": "ml-job", "status": "RUNNING"},
        {"name": "next-job", "status": "PENDING"},
    ]
    await stream.aclose()


async def test_an_agent_yields_its_status_then_each_change(
    schema: BerthSchema, gateway: Gateway, projected: Projected
) -> None:
    agent = new_id()
    await projected.apply(registered(agent))
    stream = await subscribe(
        schema,
        gateway,
        CAROL,
        "subscription($id: ID!) { agentStatus(id: $id) { event status agent { name status } } }",
        id=str(agent),
    )
    assert await take(stream, 1) == [
        {"event": None, "status": "ALIVE", "agent": {"name": "agent-1", "status": "ALIVE"}}
    ]
    await projected.apply(lost(agent, 2), recovered(agent, 3))
    assert [(c["event"], c["status"]) for c in await take(stream, 2)] == [
        ("AgentLost", "LOST"),
        ("AgentRecovered", "ALIVE"),
    ]
    await stream.aclose()


async def test_only_a_superadmin_may_tail_the_whole_log(
    schema: BerthSchema, gateway: Gateway
) -> None:
    stream = await subscribe(schema, gateway, ALICE, "subscription { eventTail { seq } }")
    result = await anext(stream)
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "forbidden", "status": 403}
    assert ROOT.is_superadmin


class FakeConnectionContext:
    def __init__(self, gateway: Gateway, params: object) -> None:
        self.context = gateway.context(None)
        self.context.connection_params = params


@pytest.mark.parametrize(
    "params", [{"authorization": "Bearer bob"}, {"Authorization": "bearer bob"}]
)
async def test_a_websocket_authenticates_with_its_connection_init_token(
    schema: BerthSchema, gateway: Gateway, params: dict[str, str]
) -> None:
    router = BerthGraphQLRouter(schema, gateway.state, path="/graphql")
    context = FakeConnectionContext(gateway, params).context
    await router.on_ws_connect(context)
    assert context.principal == BOB


@pytest.mark.parametrize(
    "params", [{}, {"authorization": "Bearer nobody"}, {"authorization": "bob"}]
)
async def test_a_websocket_without_a_valid_token_is_refused(
    schema: BerthSchema, gateway: Gateway, params: dict[str, str]
) -> None:
    router = BerthGraphQLRouter(schema, gateway.state, path="/graphql")
    with pytest.raises(ConnectionRejectionError):
        await router.on_ws_connect(FakeConnectionContext(gateway, params).context)
