"""The schema builds, and the SDL in the docs is the schema the code serves."""

from __future__ import annotations

from pathlib import Path

from services.gateway.graphql import dump
from services.gateway.graphql.schema import BerthSchema
from services.gateway.graphql.types import SessionStatus
from services.manager.domain.session import SessionStatus as DomainStatus


def test_the_schema_has_the_roots_and_the_subscriptions(schema: BerthSchema) -> None:
    sdl = schema.as_str()
    for field in (
        "sessions(filter: SessionFilter",
        "usage(scope: UsageScope!",
        "createSession(input: CreateSessionInput!)",
        "destroySession(id: ID!",
        "sessionStatus(id: ID",
        "agentStatus(id: ID",
        "eventTail(filter: EventFilter",
    ):
        assert field in sdl


def test_docs_graphql_schema_is_in_sync_with_the_code() -> None:
    assert dump.SCHEMA_PATH.read_text() == dump.sdl(), (
        "docs/graphql.schema is out of date: run python -m services.gateway.graphql.dump"
    )


def test_the_dump_script_writes_and_checks(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    assert dump.main(["--check", str(target)]) == 1
    assert dump.main([str(target)]) == 0
    assert dump.main(["--check", str(target)]) == 0


def test_session_statuses_are_the_domains() -> None:
    assert [s.value for s in SessionStatus] == [s.value for s in DomainStatus]
