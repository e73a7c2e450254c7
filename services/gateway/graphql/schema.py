"""The schema: Query, Mutation and Subscription roots, and how failures reach clients.

Refusals (see :func:`.errors.known_error`) reach the client with their code and
are not logged; any other exception is logged with its traceback and reaches
the client only as ``internal``, without details. Errors of the request itself
(syntax, validation, variables of the wrong type) reach the client as GraphQL
reports them.

Over HTTP an operation runs to one result, which a subscription has not: HTTP
refuses subscriptions (400), and they are served over WebSocket only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from services.gateway.graphql.admin_mutations import AdminMutation
from services.gateway.graphql.errors import known_error
from services.gateway.graphql.mutations import SessionMutation
from services.gateway.graphql.queries import Query
from services.gateway.graphql.subscriptions import Subscription

log = logging.getLogger("berth.gateway")


def raised(error: GraphQLError) -> bool:
    """Whether the gateway's code raised it (not a malformed or invalid request).

    A resolver's error has a path. One without a path is the request's own (a
    variable of the wrong type wraps GraphQL's coercion error) unless an exception
    other than GraphQL's own caused it.
    """
    original = error.original_error
    if original is None or original is error:
        return False
    return error.path is not None or not isinstance(original, GraphQLError)


class AsRefusals(MaskErrors):
    """Raised errors become their refusal, or ``internal`` when they are no refusal."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=raised)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        refusal = known_error(error.original_error)
        return GraphQLError(
            refusal.message if refusal else "the gateway failed; the error is logged",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=refusal.extensions if refusal else {"code": "internal", "status": 500},
        )


class BerthSchema(strawberry.Schema):
    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """One query or mutation to one result; subscriptions are refused (WebSocket streams them).

        Run here, a subscription's resolver would return its stream where a value is due.
        """
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if raised(error) and known_error(error.original_error) is None:
                log.error("GraphQL %s failed", error.path, exc_info=error.original_error)


Mutation = merge_types("Mutation", (SessionMutation, AdminMutation))


def build_schema() -> BerthSchema:
    return BerthSchema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=[AsRefusals]
    )
