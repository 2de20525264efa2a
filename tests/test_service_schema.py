"""The data service against its own OpenAPI schema (schemathesis): whatever a client sends that
the schema allows — odd dates, unknown ledgers, empty SQL, huge pages — the answer is never a
server error and always matches the schema's declared responses."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from serve import access
from serve.app import Settings, create_app
from tests.test_service_swap import two_sources  # noqa: F401  (a built, checked pool database)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(two_sources):  # noqa: F811
    from pipelines.publish import publish

    tmp, a, _ = two_sources
    target = publish(a, tmp / "schema" / "respool.duckdb")
    settings_ = Settings(snapshot=target, access_db=tmp / "schema-access.db", audit_log=tmp / "schema-audit.jsonl")
    token = access.add_user(settings_.access_db, "fuzz", "ZJ01")
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(settings_)), token


def test_no_input_gives_a_server_error(service):
    schema, token = service
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    for operation in operations:
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def call(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
        call()
