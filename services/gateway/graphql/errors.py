"""Refusals as GraphQL errors: the REST error model's code in ``extensions.code``.

A resolver raises :class:`~services.gateway.errors.ApiError`, gets a manager
refusal, or meets an unreadable cursor, unreadable read models or an absent
manager; the client receives ``{"message": ..., "extensions": {"code": ...,
"status": ...}}``, ``status`` being the HTTP status the REST API answers the
same with, so clients treat both APIs' refusals alike (see :mod:`.schema`).
"""

from __future__ import annotations

from graphql import GraphQLError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from events.commands import CommandReply
from projections.queries import InvalidCursor
from services.gateway.errors import ApiError, refusal, unavailable
from services.gateway.read_models import ReadModelsUnavailable


class BerthError(GraphQLError):
    """An expected refusal: reported to the client, not logged as a failure."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message, extensions={"code": code, "status": status})
        self.code = code


def as_graphql(error: ApiError) -> BerthError:
    return BerthError(error.code, error.message, error.status)


def bad_input(message: str) -> BerthError:
    return BerthError("invalid", message, 422)


def check_reply(reply: CommandReply) -> CommandReply:
    """The reply when the manager agreed; its refusal, as a typed error, when not."""
    if not reply.ok:
        raise as_graphql(refusal(reply))
    return reply


def known_error(exc: BaseException | None) -> BerthError | None:
    """The refusal ``exc`` stands for, or None for a failure of the gateway itself."""
    match exc:
        case BerthError():
            return exc
        case ApiError():
            return as_graphql(exc)
        case InvalidCursor():
            return BerthError("bad-request", str(exc), 400)
        case ReadModelsUnavailable():
            return as_graphql(unavailable(str(exc)))
        case NatsTimeoutError() | NoRespondersError():
            return as_graphql(unavailable("the manager did not answer; try again"))
    return None
