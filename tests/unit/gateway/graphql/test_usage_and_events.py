"""Usage summed per scope over what the caller may see; a session's event history, paged."""

from __future__ import annotations

from typing import Any

from events.agent import KernelReleased
from services.gateway.graphql.schema import BerthSchema
from services.gateway.state import Principal
from tests.unit.gateway.graphql.fakes import (
    ALICE,
    BOB,
    CAROL,
    ROOT,
    T0,
    Gateway,
    Projected,
    assigned,
    new_id,
    registered,
    requested,
)

USAGE = """query($scope: UsageScope!, $filter: UsageFilter) {
  usage(scope: $scope, filter: $filter) {
    key sessions kernels allocated { slot amount } endedKernels kernelSeconds
    slotSeconds { slot amount } } }"""


async def usage(
    schema: BerthSchema, gateway: Gateway, who: Principal, scope: str, **filters: Any
) -> list[dict[str, Any]]:
    result = await schema.execute(
        USAGE, {"scope": scope, "filter": filters or None}, context_value=gateway.context(who)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return list(result.data["usage"])


async def test_usage_counts_held_kernels_and_slot_seconds_per_scope(
    schema: BerthSchema, gateway: Gateway, projected: Projected
) -> None:
    agent = new_id()
    mine, ours, theirs = (
        requested(ALICE, "a"),
        requested(ALICE, "b", project="ml"),
        requested(CAROL, "c"),
    )
    k1, k2, k3 = new_id(), new_id(), new_id()
    await projected.apply(registered(agent), mine, ours, theirs)
    await projected.apply(
        assigned(mine.originator_id, agent, k1, 2),
        assigned(ours.originator_id, agent, k2, 3),
        assigned(theirs.originator_id, agent, k3, 4),
        KernelReleased(
            originator_id=agent,
            originator_version=5,
            timestamp=T0.replace(second=11),
            session_id=mine.originator_id,
            kernel_id=k1,
            reason="exited",
        ),
    )

    by_user = await usage(schema, gateway, ROOT, "USER")
    assert [(u["key"], u["sessions"], u["kernels"], u["endedKernels"]) for u in by_user] == [
        ("u-alice", 1, 1, 1),
        ("u-carol", 1, 1, 0),
    ]
    alice = by_user[0]
    assert alice["allocated"] == [
        {"slot": "cpu", "amount": "1"},
        {"slot": "mem", "amount": "1073741824"},
    ]
    # held from second 1 to second 11
    assert alice["kernelSeconds"] == "10"
    assert alice["slotSeconds"] == [
        {"slot": "cpu", "amount": "10"},
        {"slot": "mem", "amount": "10737418240"},
    ]

    # bob sees only the ml project's part; alice sees hers; a filter narrows
    assert [u["key"] for u in await usage(schema, gateway, BOB, "PROJECT")] == ["default/ml"]
    assert [u["key"] for u in await usage(schema, gateway, ALICE, "PROJECT")] == [
        "default/default",
        "default/ml",
    ]
    narrowed = await usage(schema, gateway, ROOT, "RESOURCE_GROUP", userIds=["u-carol"])
    assert [(u["key"], u["kernels"]) for u in narrowed] == [("default", 1)]


async def test_a_sessions_events_come_in_log_order_page_by_page(
    schema: BerthSchema, gateway: Gateway, projected: Projected
) -> None:
    agent, kernel = new_id(), new_id()
    session = requested(ALICE, "a")
    await projected.apply(
        registered(agent), session, assigned(session.originator_id, agent, kernel)
    )
    query = """query($id: ID!, $after: String) { session(id: $id) {
      events(first: 1, after: $after) { items { type kind version fields } nextCursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        result = await schema.execute(
            query,
            {"id": str(session.originator_id), "after": after},
            context_value=gateway.context(ALICE),
        )
        assert result.errors is None, result.errors
        assert result.data is not None
        page = result.data["session"]["events"]
        seen += [f"{e['kind']}.{e['type']}" for e in page["items"]]
        after = page["nextCursor"]
        if after is None:
            break
    assert seen == ["session.SessionRequested", "agent.KernelAssigned"]
