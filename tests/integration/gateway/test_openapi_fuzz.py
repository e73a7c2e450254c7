"""The OpenAPI document against the running gateway: generated requests, authenticated,
never answered with a 5xx, always answered as the document says.

Schemathesis generates valid and invalid requests for every REST operation
(GraphQL has its own tests); each response is checked for its status code,
content type and body against the document. The number of examples is bounded
so that the run takes well under a minute. (Driven through Hypothesis directly:
Schemathesis' pytest plugin does not run on this pytest.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.gateway.stack import GatewayStack, running_stack

#: per operation and mode (valid, invalid): about 40 operations, so about 800 requests
EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    """A stack of its own: what the generated requests create must not crowd other tests."""
    with running_stack(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@pytest.fixture(scope="module")
def bearer(stack: GatewayStack) -> dict[str, str]:
    assert stack.admin is not None
    issued = stack.admin.post("/v1/auth/tokens", {"ttl_seconds": 3600})
    assert issued.status_code == 201, issued.text
    return {"Authorization": f"Bearer {issued.json()['token']}"}


def _operations(base_url: str) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    found = [result.ok() for result in schema.get_all_operations()]
    return [op for op in found if not op.path.startswith("/graphql")]


def _exercise(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    base_url: str,
    headers: dict[str, str],
) -> str | None:
    """What went wrong with generated requests of one operation, or ``None``."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        return None  # nothing of this mode can be made for it (no parameters to spoil)
    except (Exception, BaseExceptionGroup) as exc:  # Schemathesis' failures are a group
        return f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"
    return None


def test_every_operation_answers_as_documented(stack: GatewayStack, bearer: dict[str, str]) -> None:
    operations = _operations(stack.base_url)
    assert len(operations) > 30
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := _exercise(operation, mode, stack.base_url, bearer)) is not None
    ]
    assert not failures, "\n\n".join(failures) + "\n" + stack.procs.logs(20)
