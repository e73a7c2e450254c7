"""Mutations send the REST API's commands as the caller; refusals come back typed."""

from __future__ import annotations

import asyncio
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError

from events import commands as cmd
from events import tenant_commands as tc
from events.commands import CommandReply
from services.gateway.graphql.schema import BerthSchema
from tests.unit.gateway.graphql.fakes import (
    ALICE,
    ROOT,
    FakeManager,
    Gateway,
    Projected,
    refusing,
    requested,
)

CREATE = """mutation($input: CreateSessionInput!) {
  createSession(input: $input) { sessionId duplicate session { name status } } }"""


async def test_create_session_asks_the_manager_as_the_caller_and_reads_its_own_write(
    schema: BerthSchema, gateway: Gateway, manager: FakeManager, projected: Projected
) -> None:
    event = requested(ALICE, "train")
    session_id = str(event.originator_id)
    manager.answer = lambda name, command: CommandReply(
        ok=True, session_id=session_id, notification_id=1
    )
    # The read model takes the decision in a moment after the manager answers.
    later = asyncio.get_running_loop().call_later(
        0.2, lambda: asyncio.ensure_future(projected.apply(event))
    )
    result = await schema.execute(
        CREATE,
        {
            "input": {
                "name": "train",
                "image": "python",
                "sessionType": "BATCH",
                "resources": [{"slot": "cpu", "amount": "2"}, {"slot": "mem", "amount": "1g"}],
                "environ": [{"name": "SEED", "value": "1"}],
                "startupCommand": "python train.py",
                "requestId": "r-1",
            }
        },
        context_value=gateway.context(ALICE),
    )
    later.cancel()
    assert result.errors is None, result.errors
    assert result.data == {
        "createSession": {
            "sessionId": session_id,
            "duplicate": False,
            "session": {"name": "train", "status": "PENDING"},
        }
    }
    [(name, command)] = manager.sent
    assert name == cmd.REQUEST_SESSION
    assert isinstance(command, cmd.RequestSession)
    assert (command.actor, command.request_id, command.session_type) == ("AKALICE", "r-1", "batch")
    assert command.resources == {"cpu": "2", "mem": "1g"}
    assert command.environ == {"SEED": "1"}


async def test_a_refusal_keeps_the_managers_code_and_the_rest_status(
    schema: BerthSchema, gateway: Gateway, manager: FakeManager
) -> None:
    manager.answer = refusing("quota-exceeded", "asks for cpu 64, but at most 8 is allowed")
    result = await schema.execute(
        CREATE, {"input": {"name": "big", "image": "python"}}, context_value=gateway.context(ALICE)
    )
    assert result.data is None
    assert result.errors is not None
    [error] = result.errors
    assert error.message == "asks for cpu 64, but at most 8 is allowed"
    assert error.extensions == {"code": "quota-exceeded", "status": 403}


async def test_a_silent_manager_is_unavailable(
    schema: BerthSchema, gateway: Gateway, manager: FakeManager
) -> None:
    def silent(name: str, command: Any) -> CommandReply:
        raise NatsTimeoutError

    manager.answer = silent
    result = await schema.execute(
        'mutation { destroySession(id: "x") { sessionId } }', context_value=gateway.context(ALICE)
    )
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "unavailable", "status": 503}


async def test_an_unexpected_failure_is_masked_and_logged(
    schema: BerthSchema, gateway: Gateway, manager: FakeManager, caplog: Any
) -> None:
    def broken(name: str, command: Any) -> CommandReply:
        raise RuntimeError("secret detail")

    manager.answer = broken
    result = await schema.execute(
        'mutation { createDomain(name: "x") { id } }', context_value=gateway.context(ROOT)
    )
    assert result.errors is not None
    assert result.errors[0].message == "the gateway failed; the error is logged"
    assert result.errors[0].extensions == {"code": "internal", "status": 500}
    assert "secret detail" in caplog.text


async def test_admin_commands_carry_the_actor_and_hand_back_the_secret_once(
    schema: BerthSchema, gateway: Gateway, manager: FakeManager
) -> None:
    manager.answer = lambda name, command: CommandReply(
        ok=True,
        notification_id=9,
        data={"id": "kp-1", "access_key": "AKNEW", "secret_key": "s3cret"},
    )
    result = await schema.execute(
        'mutation { issueKeypair(username: "alice") { id accessKey secretKey } }',
        context_value=gateway.context(ROOT),
    )
    assert result.errors is None, result.errors
    assert result.data == {
        "issueKeypair": {"id": "kp-1", "accessKey": "AKNEW", "secretKey": "s3cret"}
    }
    result = await schema.execute(
        """mutation { defineResourcePolicy(name: "small", limits: {
             totalResourceSlots: [{slot: "cpu", amount: "4"}], maxConcurrentSessions: 2}) {
             id duplicate notificationId } }""",
        context_value=gateway.context(ROOT),
    )
    assert result.errors is None, result.errors
    [(_, issued), (name, defined)] = manager.sent
    assert isinstance(issued, tc.IssueKeypair) and issued.actor == "AKROOT"
    assert name == tc.DEFINE_POLICY
    assert isinstance(defined, tc.DefineResourcePolicy)
    assert defined.limits.total_resource_slots == {"cpu": "4"}
    assert defined.limits.max_concurrent_sessions == 2
