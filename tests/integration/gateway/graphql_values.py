"""Argument values for generated GraphQL operations: what the stack knows, and anything else.

Purely random strings are refused by the first check they meet (a name must be
``[a-z0-9._-]``, an image must exist...), so the resolvers' paths beyond it would
never run. Strings and ids are therefore drawn in equal parts from values the
stack knows (its images, slots, sessions, agents, keys, page cursors), from
well-formed names, and from arbitrary text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import graphql
from hypothesis import strategies as st
from hypothesis_graphql import nodes

#: words of the API that a valid request may use
WORDS = (
    *("admin", "default", "berth-small", "berth-python", "gw-0", "gw-1"),
    *("cpu", "mem", "mock.device", "1", "0.5", "2", "64m", "256m", "16g"),
    *("fifo", "lifo", "drf", "priority", "concentrated", "dispersed", "roundrobin"),
    *("session", "agent", "SessionRequested", "session.SessionTerminated", "exit 0", "/data"),
)
NAME = r"[a-z][a-z0-9._-]{0,11}"


@dataclass(frozen=True)
class Known:
    """Values of the running stack that generated operations may name."""

    strings: tuple[str, ...]
    ids: tuple[str, ...]
    #: what generated mutations must not change: the callers' keys and users
    protected: frozenset[str]


def scalars(known: Known) -> Mapping[str, st.SearchStrategy[graphql.ValueNode]]:
    """Strategies for ``String``, ``ID`` and ``DateTime`` argument values."""
    text = st.text(max_size=24)
    strings = st.one_of(
        st.sampled_from((*WORDS, *known.strings)), st.from_regex(NAME, fullmatch=True), text
    )
    ids: st.SearchStrategy[graphql.ValueNode] = st.one_of(
        st.sampled_from(known.ids).map(nodes.String),
        st.uuids().map(nodes.String),
        text.map(nodes.String),
        st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
    )
    moments = st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
    return {
        "String": strings.map(nodes.String),
        "ID": ids,
        "DateTime": moments.map(lambda moment: nodes.String(moment.isoformat())),
    }


def string_values(document: str) -> set[str]:
    """Every string literal in ``document``."""
    found: set[str] = set()
    graphql.visit(graphql.parse(document), _StringCollector(found))
    return found


class _StringCollector(graphql.Visitor):
    def __init__(self, into: set[str]) -> None:
        super().__init__()
        self.into = into

    def enter_string_value(self, node: graphql.StringValueNode, *_: object) -> None:
        self.into.add(node.value)
