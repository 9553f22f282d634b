"""schemathesis against the gateway's published OpenAPI schema, on both databases: requests
generated from the schema (valid and not) never get a 5xx, and every answer matches the
schema (status code, content type, body)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from reviewer.server.app import create_app
from reviewer.storage import SqlQueue
from reviewer.storage.tokens import Tokens

from factories import action, output

TOKEN: dict[str, str] = {}


@pytest.fixture(params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    url = (f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    q = SqlQueue.open(url)
    TOKEN["admin"] = Tokens(q.engine).create("root", "admin")[0]
    q.enqueue_many([output(i) for i in range(3)] + [action(1)])  # something to find
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(q, sweep_s=0))
    q.close()


schema = schemathesis.pytest.from_fixture("api")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_schema_says(case):
    if case.query and "wait" in case.query:
        case.query["wait"] = 0  # long polls: no 30 s waits in a test
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN['admin']}"},
                           checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_schema_conformance])
