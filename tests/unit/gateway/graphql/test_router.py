"""``/graphql`` over graphql-transport-ws through the router, with the read models and
authentication faked: who may open a socket, and a subscription pushed as the model commits."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from starlette.requests import HTTPConnection

from services.gateway.errors import install_error_handlers, unauthenticated
from services.gateway.graphql import graphql_router
from services.gateway.state import Principal
from tests.integration.gateway.graphql_ws import Closed, GraphQLWebSocket
from tests.unit.gateway.graphql.fakes import (
    EVERYONE,
    Gateway,
    Projected,
    lifecycle,
    new_id,
    registered,
    requested,
)


async def by_header(connection: HTTPConnection) -> Principal:
    """The fake gateway's authentication: ``Authorization: Bearer <username>``."""
    header = connection.headers.get("authorization", "")
    if header.startswith("Bearer ") and header[7:] in EVERYONE:
        return EVERYONE[header[7:]]
    raise unauthenticated("unauthenticated", "who are you?")


@pytest.fixture
def app(gateway: Gateway) -> FastAPI:
    gateway.state.authenticate = by_header
    application = FastAPI()
    install_error_handlers(application)
    application.include_router(graphql_router(gateway.state))
    return application


async def test_a_subscription_over_the_socket_follows_a_session_to_its_end(
    app: FastAPI, projected: Projected
) -> None:
    agent = new_id()
    event = requested(EVERYONE["alice"], "job")
    await projected.apply(registered(agent), event)
    socket = GraphQLWebSocket(app)
    await socket.connect({"authorization": "Bearer alice"})
    try:
        operation = await socket.subscribe(
            "subscription($id: ID!) { sessionStatus(id: $id) { status } }",
            id=str(event.originator_id),
        )
        first = await socket.next(operation)
        assert first["payload"]["data"]["sessionStatus"]["status"] == "PENDING"
        await projected.apply(*lifecycle(event.originator_id, agent, new_id()))
        statuses = [
            (await socket.next(operation))["payload"]["data"]["sessionStatus"]["status"]
            for _ in range(4)
        ]
        assert statuses == ["SCHEDULED", "PREPARING", "RUNNING", "TERMINATED"]
        assert (await socket.next(operation))["type"] == "complete"
    finally:
        await socket.close()


async def test_the_upgrades_own_credentials_are_enough(app: FastAPI) -> None:
    socket = GraphQLWebSocket(app, headers={"Authorization": "Bearer carol"})
    await socket.connect()
    await socket.close()


@pytest.mark.parametrize(
    ("headers", "init"),
    [({}, {}), ({}, {"authorization": "Bearer mallory"}), ({"Authorization": "Bearer x"}, {})],
)
async def test_a_socket_without_valid_credentials_is_closed_4403(
    app: FastAPI, headers: dict[str, str], init: dict[str, str]
) -> None:
    socket = GraphQLWebSocket(app, headers=headers)
    with pytest.raises(Closed) as closed:
        await socket.connect(init)
    assert closed.value.code == 4403
    await socket.close()


async def test_a_page_of_another_site_cannot_open_a_socket(app: FastAPI) -> None:
    socket = GraphQLWebSocket(
        app, headers={"Origin": "https://elsewhere.example", "Authorization": "Bearer alice"}
    )
    with pytest.raises(Closed):
        await socket.connect()
    await socket.close()
