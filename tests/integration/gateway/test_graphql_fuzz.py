"""The GraphQL schema against the running gateway: generated operations, signed, never
answered with a 5xx or an internal error, and always answered as the schema says.

hypothesis-graphql generates, for each root field of the schema the gateway serves
(read by introspection), valid queries and mutations and invalid ones (one schema
violation each); arguments name what the stack knows as often as anything else
(:mod:`.graphql_values`). They are sent signed over HTTP, as the first
administrator and as an ordinary user. A valid operation must pass validation and
its ``data`` must match the schema (:mod:`.graphql_conformance`); refusals are
fine, failures are not. Hand-written malformed requests must be refused, never
fail. The number of examples is bounded so that the file runs in well under a
minute, and generation is derandomised: every run sends the same operations.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import graphql
import hypothesis_graphql as hg
import pytest
import requests
from graphql import OperationType
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from tests.integration.gateway.graphql_conformance import data_problems, error_problems
from tests.integration.gateway.graphql_values import Known, scalars, string_values
from tests.integration.gateway.signed_client import SignedClient
from tests.integration.gateway.stack import GatewayStack, running_stack

#: examples per root field (7 of Query, 18 of Mutation): about 450 requests in all
QUERY_EXAMPLES = 15
MUTATION_EXAMPLES = 8
USER_EXAMPLES = 4
INVALID_EXAMPLES = 3

#: mutations that change or remove what exists (rather than create or refuse)
ALTERING = frozenset(
    {
        *("changeResourceGroup", "changeResourcePolicy", "changeUserRole", "deactivateUser"),
        *("assignProjectPolicy", "assignUserPolicy", "assignKeypairPolicy", "revokeKeypair"),
    }
)
#: names they must leave alone: a ``default`` policy of limit 0, or the administrator
#: deactivated, would take the stack away from the operations that follow
PROTECTED = frozenset({"admin", "default"})

CREATE = """mutation($input: CreateSessionInput!) { createSession(input: $input) { sessionId } }"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    """A stack of its own: what the generated mutations create must not crowd other tests."""
    with running_stack(tmp_path_factory.mktemp("graphql-fuzz")) as running:
        yield running


@pytest.fixture(scope="module")
def admin(stack: GatewayStack) -> SignedClient:
    assert stack.admin is not None
    return stack.admin


@pytest.fixture(scope="module")
def schema(admin: SignedClient) -> graphql.GraphQLSchema:
    """The schema as the gateway serves it."""
    introspection = data_of(admin, graphql.get_introspection_query())
    return graphql.build_client_schema(cast(graphql.IntrospectionQuery, introspection))


@pytest.fixture(scope="module")
def user(stack: GatewayStack, admin: SignedClient) -> SignedClient:
    """An ordinary user of the default project, with a keypair of their own."""
    username = f"fuzz-{uuid.uuid4().hex[:8]}"
    for mutation in (
        'mutation($u: String!) { createUser(domain: "default", username: $u) { id } }',
        'mutation($u: String!) { addUserToProject(username: $u, project: "default") { id } }',
    ):
        data_of(admin, mutation, u=username)
    issued = data_of(
        admin,
        "mutation($u: String!) { issueKeypair(username: $u) { accessKey secretKey } }",
        u=username,
    )["issueKeypair"]
    return stack.client(issued["accessKey"], issued["secretKey"])


@pytest.fixture(scope="module")
def known(admin: SignedClient, user: SignedClient) -> Known:
    """Sessions of both kinds and owners, and the keys, users, agents and cursors of the stack."""
    sessions = (
        start_session(admin, "fuzz-batch", batch=True),
        start_session(admin, "fuzz-live", batch=False),
        start_session(user, "fuzz-mine", batch=True),
    )
    seen = data_of(
        admin,
        """{ viewer { userId } agents { items { id } } page: agents(first: 1) { nextCursor }
             sessions(first: 1) { nextCursor } }""",
    )
    mine = data_of(user, "{ viewer { userId username } }")["viewer"]
    people = (admin.access_key, user.access_key, seen["viewer"]["userId"], *mine.values())
    cursors = (seen["page"]["nextCursor"], seen["sessions"]["nextCursor"])
    return Known(
        strings=(*people, *sessions, *(c for c in cursors if c)),
        ids=(*sessions, *(a["id"] for a in seen["agents"]["items"])),
        protected=frozenset({admin.access_key, user.access_key, mine["username"]}),
    )


def start_session(client: SignedClient, name: str, *, batch: bool) -> str:
    spec = {"name": name, "image": "berth-small", "resources": [{"slot": "cpu", "amount": "1"}]}
    if batch:
        spec |= {"sessionType": "BATCH", "startupCommand": "exit 0"}
    session_id: str = data_of(client, CREATE, input=spec)["createSession"]["sessionId"]
    return session_id


def data_of(client: SignedClient, query: str, **variables: Any) -> dict[str, Any]:
    reply = client.post("/graphql", {"query": query, "variables": variables})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def valid_answer_problems(
    schema: graphql.GraphQLSchema, document: str, reply: requests.Response
) -> list[str]:
    """A valid operation: 200, accepted (any error is a resolver's refusal), schema-true data."""
    if reply.status_code != 200:
        return [f"HTTP {reply.status_code}: {reply.text:.300}"]
    body = reply.json()
    if problems := error_problems(body):
        return problems
    if refused := [e for e in body.get("errors", []) if "path" not in e]:
        return [f"a valid operation was refused before it ran: {refused}"]
    return data_problems(schema, graphql.parse(document), body)


def invalid_answer_problems(reply: requests.Response) -> list[str]:
    """An invalid request: 400 in the gateway's error model, or 200 with errors and no data."""
    if reply.status_code == 400:
        body = reply.json()
        ok = set(body) == {"error"} and body["error"].get("code") == "bad-request"
        return [] if ok and body["error"].get("message") else [f"a 400 of {body!r:.300}"]
    if reply.status_code != 200:
        return [f"HTTP {reply.status_code}: {reply.text:.300}"]
    body = reply.json()
    problems = error_problems(body)
    if not body.get("errors"):
        problems.append(f"an invalid request was answered without an error: {body!r:.300}")
    elif body.get("data") is not None:
        problems.append(f"an invalid request was executed: {body!r:.300}")
    return problems


def fuzz(
    documents: st.SearchStrategy[str],
    examples: int,
    client: SignedClient,
    problems_of: Callable[[str, requests.Response], list[str]],
    untouchable: frozenset[str],
) -> str | None:
    """What went wrong with ``examples`` generated operations, or ``None``."""

    @given(document=documents)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        # No shrinking: it would send many more requests, and the first failure says enough.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(document: str) -> None:
        assume(not (untouchable and string_values(document) & untouchable))
        problems = problems_of(document, client.post("/graphql", {"query": document}))
        assert not problems, f"{document}\n" + "\n".join(problems)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:
        return str(exc)
    return None


def fuzz_roots(
    schema: graphql.GraphQLSchema,
    known: Known,
    client: SignedClient,
    roots: dict[OperationType, int],
    mode: hg.Mode,
) -> list[str]:
    """Failures over every field of each root, ``roots[root]`` examples each."""
    untouchable = PROTECTED | known.protected

    def check(document: str, reply: requests.Response) -> list[str]:
        if mode is hg.Mode.POSITIVE:
            return valid_answer_problems(schema, document, reply)
        return invalid_answer_problems(reply)

    failures = []
    for root, examples in roots.items():
        make = hg.queries if root is OperationType.QUERY else hg.mutations
        root_type = schema.get_root_type(root)
        assert root_type is not None
        for name, field in sorted(root_type.fields.items()):
            if mode is hg.Mode.NEGATIVE and not field.args:
                continue  # nothing to violate but the selection, which the others cover
            documents = make(schema, fields=[name], custom_scalars=scalars(known), mode=mode)
            guard = untouchable if name in ALTERING else frozenset()
            if (failure := fuzz(documents, examples, client, check, guard)) is not None:
                failures.append(f"{root.value} {name} ({mode.name.lower()}): {failure}")
    return failures


def test_generated_queries_as_the_administrator(
    stack: GatewayStack, admin: SignedClient, schema: graphql.GraphQLSchema, known: Known
) -> None:
    roots = {OperationType.QUERY: QUERY_EXAMPLES}
    failures = fuzz_roots(schema, known, admin, roots, hg.Mode.POSITIVE)
    assert not failures, "\n\n".join(failures) + "\n" + stack.procs.logs(20)


def test_generated_mutations_as_the_administrator(
    stack: GatewayStack, admin: SignedClient, schema: graphql.GraphQLSchema, known: Known
) -> None:
    roots = {OperationType.MUTATION: MUTATION_EXAMPLES}
    failures = fuzz_roots(schema, known, admin, roots, hg.Mode.POSITIVE)
    assert not failures, "\n\n".join(failures) + "\n" + stack.procs.logs(20)


def test_generated_operations_as_an_ordinary_user(
    stack: GatewayStack, user: SignedClient, schema: graphql.GraphQLSchema, known: Known
) -> None:
    roots = {OperationType.QUERY: USER_EXAMPLES, OperationType.MUTATION: USER_EXAMPLES}
    failures = fuzz_roots(schema, known, user, roots, hg.Mode.POSITIVE)
    assert not failures, "\n\n".join(failures) + "\n" + stack.procs.logs(20)


def test_generated_invalid_operations_are_refused(
    stack: GatewayStack, admin: SignedClient, schema: graphql.GraphQLSchema, known: Known
) -> None:
    roots = {OperationType.QUERY: INVALID_EXAMPLES, OperationType.MUTATION: INVALID_EXAMPLES}
    failures = fuzz_roots(schema, known, admin, roots, hg.Mode.NEGATIVE)
    assert not failures, "\n\n".join(failures) + "\n" + stack.procs.logs(20)


def _nested(depth: int) -> Any:
    value: Any = "PENDING"
    for _ in range(depth):
        value = [value]
    return value


SESSION_BY_ID = "query($id: ID!) { session(id: $id) { id } }"
FIRST = "query($f: Int!) { sessions(first: $f) { nextCursor } }"
#: (what it is, the request's JSON body) for documents GraphQL refuses (200, errors, no data)
REFUSED_DOCUMENTS = [
    ("a syntax error", {"query": "{ viewer { accessKey "}),
    ("a NUL character", {"query": "{ viewer { accessKey } }\x00"}),
    ("an unknown field", {"query": "{ nope }"}),
    ("an unknown field of an object", {"query": "{ viewer { accessKey nope } }"}),
    ("a missing argument", {"query": "{ session { id } }"}),
    ("a literal of the wrong type", {"query": "{ sessions(first: true) { nextCursor } }"}),
    (
        "a date that is none",
        {
            "query": 'mutation { createSession(input: {name: "a",'
            ' image: "b", startsAt: "soon"}) { sessionId } }'
        },
    ),
    ("a variable of the wrong type", {"query": FIRST, "variables": {"f": "ten"}}),
    ("a variable of a wrong shape", {"query": SESSION_BY_ID, "variables": {"id": {"a": 1}}}),
    ("a variable missing", {"query": SESSION_BY_ID}),
    (
        "a variable declared wrongly",
        {"query": FIRST.replace("Int!", "String!"), "variables": {"f": "10"}},
    ),
    (
        "a variable with an unknown field",
        {
            "query": "mutation($i: CreateSessionInput!) { createSession(input: $i) { sessionId } }",
            "variables": {"i": {"name": "a", "image": "b", "colour": "red"}},
        },
    ),
    (
        "a date variable that is none",
        {
            "query": 'mutation($t: DateTime) { createSession(input: {name: "a", image: "b",'
            " startsAt: $t}) { sessionId } }",
            "variables": {"t": "soon"},
        },
    ),
    (
        "a fragment cycle",
        {
            "query": "{ viewer { ...A } } fragment A on Viewer { ...B }"
            " fragment B on Viewer { ...A }"
        },
    ),
    ("deeply nested braces", {"query": "{" * 20_000 + "}" * 20_000}),
    (
        "a deeply nested literal",
        {
            "query": "{ sessions(filter: {statuses: "
            + "[" * 20_000
            + "]" * 20_000
            + "}) { nextCursor } }"
        },
    ),
    (
        "a deeply nested variable",
        {
            "query": "query($f: SessionFilter) { sessions(filter: $f) { nextCursor } }",
            "variables": {"f": {"statuses": _nested(900)}},
        },
    ),
    (
        "deeply nested introspection",
        {
            "query": "{ __schema { types { "
            + "fields { type { " * 60
            + "name"
            + " } }" * 60
            + " } } }"
        },
    ),
]
#: (what it is, body bytes, content type) for requests refused before they run (400)
REFUSED_REQUESTS = [
    ("a body that is not JSON", b"{not json", "application/json"),
    ("a body of another type", b'{"query": "{ viewer { userId } }"}', "text/plain"),
    ("a batch", b'[{"query": "{ viewer { userId } }"}]', "application/json"),
    (
        "a body nested too deeply to read",
        b'{"query": "{ viewer { userId } }", "variables": {"a": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}",
        "application/json",
    ),
    ("no query", b"{}", "application/json"),
    ("an empty query", b'{"query": ""}', "application/json"),
    ("a query that is no string", b'{"query": 5}', "application/json"),
    (
        "variables that are no object",
        b'{"query": "{ viewer { userId } }", "variables": [1]}',
        "application/json",
    ),
    (
        "an unknown operation name",
        b'{"query": "query A { viewer { userId } }", "operationName": "B"}',
        "application/json",
    ),
    (
        "a subscription over HTTP",
        b'{"query": "subscription { agentStatus { agentId } }"}',
        "application/json",
    ),
]


@pytest.mark.parametrize(("what", "body"), REFUSED_DOCUMENTS, ids=[c[0] for c in REFUSED_DOCUMENTS])
def test_a_malformed_document_is_refused_with_errors(
    admin: SignedClient, what: str, body: dict[str, Any]
) -> None:
    reply = admin.post("/graphql", body)
    assert reply.status_code == 200, reply.text
    assert not invalid_answer_problems(reply), (what, reply.text[:500])


@pytest.mark.parametrize(
    ("what", "raw", "content_type"), REFUSED_REQUESTS, ids=[c[0] for c in REFUSED_REQUESTS]
)
def test_a_malformed_request_is_refused_in_the_error_model(
    admin: SignedClient, what: str, raw: bytes, content_type: str
) -> None:
    reply = admin.post("/graphql", body=raw, headers={"Content-Type": content_type})
    assert reply.status_code == 400, reply.text
    assert not invalid_answer_problems(reply), (what, reply.text[:500])


def test_a_mutation_over_get_is_refused(admin: SignedClient) -> None:
    reply = admin.get("/graphql", params={"query": 'mutation { createDomain(name: "x") { id } }'})
    assert reply.status_code == 400, reply.text
    assert not invalid_answer_problems(reply), reply.text


def test_a_large_query_is_answered_and_an_oversized_one_refused(
    admin: SignedClient, schema: graphql.GraphQLSchema
) -> None:
    wide = "{ " + " ".join(f"v{i}: viewer {{ userId }}" for i in range(2_000)) + " }"
    assert not valid_answer_problems(schema, wide, admin.post("/graphql", {"query": wide}))

    oversized = {"query": "{ viewer { " + "userId " * 200_000 + "} }"}
    reply = admin.post("/graphql", oversized)
    assert len(json.dumps(oversized)) > 1024 * 1024
    assert reply.status_code == 413, reply.text
    assert reply.json()["error"]["code"] == "too-large"
