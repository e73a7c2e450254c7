"""Sending commands to the manager on behalf of the caller, and reading its answer.

The actor of every command is the caller's access key (the gateway has proved
they hold it). A manager that does not answer is 503; a refusal keeps the
manager's code (see :func:`services.gateway.errors.status_for`).
"""

from __future__ import annotations

import msgspec
from nats.errors import Error as NatsError

from events.commands import CommandReply
from events.request_ids import new_request_id
from services.gateway.errors import ApiError, refusal, unavailable
from services.manager.client import ManagerClient


def request_id(given: str | None) -> str:
    """The caller's request id, or a fresh one when none was given."""
    return given or new_request_id()


async def send(manager: ManagerClient, name: str, command: msgspec.Struct) -> CommandReply:
    """The manager's reply when it decided; :class:`ApiError` when it refused or was silent."""
    try:
        reply = await manager.send(name, command)
    except (NatsError, TimeoutError) as exc:
        raise unavailable(f"the manager did not answer ({type(exc).__name__})") from None
    except msgspec.DecodeError:
        raise ApiError(502, "bad-reply", "the manager's reply could not be read") from None
    if not reply.ok:
        raise refusal(reply)
    return reply
