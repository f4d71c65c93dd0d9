"""Property-based fuzzing of the access OpenAPI (schemathesis): whatever the input, no 5xx and
every answer matches its documented schema and status codes."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alpr_access.main import create_app
from alpr_access.settings import AccessSettings
from alpr_common.roles import PERSON_ROLES

# The schema only: the app that serves the requests is the plugin's, per backend.
schema = schemathesis.openapi.from_dict(
    create_app(
        AccessSettings(environment="test", signing_key_dir=Path(tempfile.mkdtemp()))
    ).openapi()
)
SERVICE_ONLY = ("/v1/ingest-keys/exchange", "/v1/principals/{subject}/status")
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.fixture
async def fuzz_headers(make_person, tokens):
    person = await make_person(*sorted(PERSON_ROLES))
    return {
        "person": tokens.headers(*sorted(PERSON_ROLES), subject=person.subject),
        "service": tokens.headers("service"),
    }


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
async def test_access_api_never_fails_and_keeps_its_schema(case, client, fuzz_headers):
    who = "service" if case.operation.path in SERVICE_ONLY else "person"
    kwargs = case.as_transport_kwargs(base_url="http://test", headers=fuzz_headers[who])
    body = kwargs.get("data")
    response = await client.request(
        kwargs["method"],
        kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        json=kwargs.get("json"),
        content=body if isinstance(body, (bytes, str)) else None,
        data=body if isinstance(body, dict) else None,
    )
    case.validate_response(response, checks=CHECKS)
