"""Whether a GraphQL response keeps the schema's promises for the operation it answers.

A response is a JSON object with ``data`` and/or ``errors``; no error is a
failure of the gateway (``extensions.code == "internal"``) or of what is behind
it (an ``extensions.status`` of 500 or more: the manager did not answer, or
answered wrongly), since the stack under test is healthy; ``data`` holds exactly
the fields the operation selected, each of its declared type; a non-null field is
null only where an error reports a failure at or below it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)

Path = tuple[str | int, ...]
INT_RANGE = range(-(2**31), 2**31)


def error_problems(body: object) -> list[str]:
    """What is wrong with the response's envelope and its errors."""
    if not isinstance(body, dict):
        return [f"the body is not a JSON object: {body!r:.200}"]
    problems = [f"unexpected top-level key {k!r}" for k in body if k not in _TOP_LEVEL]
    if "data" not in body and "errors" not in body:
        problems.append("neither data nor errors")
    errors = body.get("errors")
    if "errors" in body and (not isinstance(errors, list) or not errors):
        return [*problems, f"errors is not a non-empty list: {errors!r:.200}"]
    for error in errors or []:
        problems += _one_error_problems(error)
    return problems


_TOP_LEVEL = frozenset({"data", "errors", "extensions"})


def _one_error_problems(error: object) -> list[str]:
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return [f"an error without a message: {error!r:.200}"]
    problems = []
    path = error.get("path")
    if path is not None and not (
        isinstance(path, list) and all(isinstance(p, str | int) for p in path)
    ):
        problems.append(f"an error's path is not a list of keys: {error!r:.200}")
    extensions = error.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        problems.append(f"an error's extensions are not an object: {error!r:.200}")
    elif extensions and extensions.get("code") == "internal":
        problems.append(f"the gateway failed: {error!r:.300}")
    elif extensions and isinstance(extensions.get("status"), int) and extensions["status"] >= 500:
        problems.append(f"a failure behind the gateway: {error!r:.300}")
    return problems


def data_problems(schema: GraphQLSchema, document: DocumentNode, body: dict[str, Any]) -> list[str]:
    """What in ``body["data"]`` breaks the schema, for the one operation of ``document``."""
    errors = body.get("errors") or []
    if "data" not in body or body["data"] is None:
        return [] if errors else ["data is null, yet no error says why"]
    failed = [tuple(e["path"]) for e in errors if isinstance(e.get("path"), list)]
    checker = _Checker(schema, document, failed)
    operation = checker.operation()
    root = schema.get_root_type(operation.operation)
    if root is None:
        return [f"the schema has no {operation.operation.value} root"]
    checker.an_object(root, [operation.selection_set], body["data"], ())
    return checker.problems


class _Checker:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, failed: list[Path]) -> None:
        self.schema = schema
        self.document = document
        self.failed = failed
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.problems: list[str] = []

    def operation(self) -> OperationDefinitionNode:
        found = [d for d in self.document.definitions if isinstance(d, OperationDefinitionNode)]
        assert len(found) == 1, "generated documents hold one operation"
        return found[0]

    def fail(self, path: Path, what: str) -> None:
        self.problems.append(f"data.{'.'.join(map(str, path)) or '(root)'}: {what}")

    def covered(self, path: Path) -> bool:
        """An error reports a failure at ``path`` or below it (a null propagated up to it)."""
        return any(failed[: len(path)] == path for failed in self.failed)

    def fields(
        self, parent: GraphQLObjectType, selections: Iterable[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """The response keys the selection sets ask of ``parent``, each with its field nodes."""
        keys: dict[str, list[FieldNode]] = {}
        for selection_set in selections:
            for node in selection_set.selections:
                if isinstance(node, FieldNode):
                    keys.setdefault((node.alias or node.name).value, []).append(node)
                    continue
                inner: SelectionSetNode | None = None
                condition = None
                if isinstance(node, InlineFragmentNode):
                    inner, condition = node.selection_set, node.type_condition
                elif isinstance(node, FragmentSpreadNode):
                    fragment = self.fragments[node.name.value]
                    inner, condition = fragment.selection_set, fragment.type_condition
                if inner is not None and (condition is None or condition.name.value == parent.name):
                    for key, nodes in self.fields(parent, [inner]).items():
                        keys.setdefault(key, []).extend(nodes)
        return keys

    def an_object(
        self,
        type_: GraphQLObjectType,
        selections: Sequence[SelectionSetNode],
        value: object,
        path: Path,
    ) -> None:
        if not isinstance(value, dict):
            self.fail(path, f"{type_.name} is not an object: {value!r:.100}")
            return
        wanted = self.fields(type_, selections)
        if set(value) != set(wanted):
            self.fail(path, f"keys {sorted(value)} where {sorted(wanted)} were selected")
        for key, nodes in wanted.items():
            if key not in value:
                continue
            name = nodes[0].name.value
            if name == "__typename":
                if value[key] != type_.name:
                    self.fail((*path, key), f"__typename {value[key]!r} of a {type_.name}")
                continue
            definition = type_.fields.get(name)
            if definition is None:
                self.fail((*path, key), f"{type_.name} has no field {name}")
                continue
            inner = [n.selection_set for n in nodes if n.selection_set is not None]
            self.a_value(definition.type, inner, value[key], (*path, key))

    def a_value(
        self,
        type_: GraphQLOutputType,
        selections: Sequence[SelectionSetNode],
        value: object,
        path: Path,
    ) -> None:
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                if not self.covered(path):
                    self.fail(path, f"null for {type_}, and no error at or below it")
                return
            type_ = type_.of_type
        if value is None:
            return
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                self.fail(path, f"{type_} is not a list: {value!r:.100}")
                return
            for index, item in enumerate(value):
                self.a_value(type_.of_type, selections, item, (*path, index))
        elif isinstance(type_, GraphQLObjectType):
            self.an_object(type_, selections, value, path)
        elif isinstance(type_, GraphQLEnumType):
            if value not in type_.values:
                self.fail(path, f"{value!r:.100} is no {type_.name}")
        elif isinstance(type_, GraphQLScalarType):
            if not scalar_fits(type_.name, value):
                self.fail(path, f"{value!r:.100} is no {type_.name}")
        else:  # interfaces and unions: the schema has none; say so rather than pass
            self.fail(path, f"cannot check a value of the abstract type {type_}")


def scalar_fits(name: str, value: object) -> bool:
    match name:
        case "Int":
            return isinstance(value, int) and not isinstance(value, bool) and value in INT_RANGE
        case "Float":
            return (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
            )
        case "String" | "ID":
            return isinstance(value, str)
        case "Boolean":
            return isinstance(value, bool)
        case "DateTime":
            return isinstance(value, str) and _is_isoformat(value)
        case "JSON":
            return True
    return False  # a scalar this checker does not know: extend it


def _is_isoformat(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def root_fields(schema: GraphQLSchema, operation: OperationType) -> list[str]:
    root = schema.get_root_type(operation)
    return sorted(root.fields) if root is not None else []
