"""Who sees which sessions and usage: users their own and (read-only) their projects',
domain admins their domain, superadmins everything; the SQL and Python rules agree."""

from __future__ import annotations

import itertools
import sqlite3
from typing import Any

import pytest

from projections.queries import Visibility
from services.gateway.graphql.access import may_see, tail_scope, visible_sql
from services.gateway.graphql.schema import BerthSchema
from services.gateway.state import Principal
from tests.unit.gateway.graphql.fakes import (
    ALICE,
    BOB,
    CAROL,
    DANA,
    ERIN,
    ROOT,
    Gateway,
    Projected,
    new_id,
    requested,
)

FRANK = Principal("AKFRANK", "u-frank", "frank", "user", "other", ("ml",))


async def run(
    schema: BerthSchema, gateway: Gateway, who: Principal | None, query: str, **variables: Any
) -> dict[str, Any]:
    result = await schema.execute(query, variables, context_value=gateway.context(who))
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


@pytest.fixture
async def sessions(projected: Projected) -> dict[str, str]:
    """alice's in project ml and in default, carol's, frank's in another domain."""
    events = {
        "alice-ml": requested(ALICE, "alice-ml", project="ml"),
        "alice-default": requested(ALICE, "alice-default"),
        "carol": requested(CAROL, "carol"),
        "frank-ml": requested(FRANK, "frank-ml", project="ml"),
    }
    await projected.apply(*events.values())
    return {name: str(event.originator_id) for name, event in events.items()}


NAMES = "query { sessions(first: 50) { items { name } nextCursor } }"


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        (ALICE, {"alice-ml", "alice-default"}),
        (BOB, {"alice-ml"}),
        (CAROL, {"carol"}),
        (DANA, {"alice-ml", "alice-default", "carol"}),
        (ERIN, {"frank-ml"}),
        (ROOT, {"alice-ml", "alice-default", "carol", "frank-ml"}),
    ],
)
async def test_each_role_lists_what_it_may_see(
    schema: BerthSchema,
    gateway: Gateway,
    sessions: dict[str, str],
    who: Principal,
    visible: set[str],
) -> None:
    data = await run(schema, gateway, who, NAMES)
    assert {s["name"] for s in data["sessions"]["items"]} == visible


async def test_another_users_session_is_not_found_for_a_second_user(
    schema: BerthSchema, gateway: Gateway, sessions: dict[str, str]
) -> None:
    query = "query($id: ID!) { session(id: $id) { name statusHistory { status } } }"
    result = await schema.execute(
        query, {"id": sessions["alice-default"]}, context_value=gateway.context(CAROL)
    )
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "not-found", "status": 404}
    data = await run(schema, gateway, ALICE, query, id=sessions["alice-default"])
    assert data["session"] == {"name": "alice-default", "statusHistory": [{"status": "PENDING"}]}


async def test_lists_filter_and_page_with_a_cursor(
    schema: BerthSchema, gateway: Gateway, sessions: dict[str, str]
) -> None:
    query = """query($after: String) {
      sessions(filter: {statuses: [PENDING], project: "ml"}, first: 1, after: $after) {
        items { name project status } nextCursor } }"""
    first = (await run(schema, gateway, ROOT, query, after=None))["sessions"]
    second = (await run(schema, gateway, ROOT, query, after=first["nextCursor"]))["sessions"]
    assert second["nextCursor"] is None
    names = {first["items"][0]["name"], second["items"][0]["name"]}
    assert names == {"alice-ml", "frank-ml"}


async def test_a_bad_cursor_is_a_bad_request(schema: BerthSchema, gateway: Gateway) -> None:
    result = await schema.execute(
        'query { sessions(after: "garbage!") { nextCursor } }', context_value=gateway.context(ROOT)
    )
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "bad-request", "status": 400}


async def test_an_unauthenticated_caller_gets_nothing(
    schema: BerthSchema, gateway: Gateway
) -> None:
    result = await schema.execute(NAMES, context_value=gateway.context(None))
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "unauthenticated", "status": 401}


ROLES = [ALICE, BOB, CAROL, DANA, ERIN, ROOT]
OWNERS = list(itertools.product(["u-alice", "u-carol"], ["default", "other"], ["ml", "default"]))


@pytest.mark.parametrize("who", ROLES, ids=lambda p: p.username)
def test_the_sql_rule_is_the_python_rule(who: Principal) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE o (user_id TEXT, domain TEXT, project TEXT)")
    conn.executemany("INSERT INTO o VALUES (?, ?, ?)", OWNERS)
    clause, params = visible_sql(who.visibility, "o")
    found = set(conn.execute(f"SELECT * FROM o WHERE {clause}", params).fetchall())
    vis: Visibility = who.visibility
    assert found == {o for o in OWNERS if may_see(vis, user_id=o[0], domain=o[1], project=o[2])}


def test_only_a_superadmin_tails_everything() -> None:
    assert tail_scope(ROOT, None, None) is None
    for who in (ALICE, DANA):
        assert tail_scope(who, None, None) is not None
        assert tail_scope(who, str(new_id()), "agent") is not None
        assert tail_scope(who, str(new_id()), None) is None
