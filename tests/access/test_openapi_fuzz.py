"""Property-based fuzzing of the access OpenAPI (schemathesis): whatever the input, no 5xx and
every answer matches its documented schema and status codes."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis

from alpr_access.main import create_app
from alpr_access.settings import AccessSettings
from alpr_common.roles import PERSON_ROLES
from tests.helpers.fuzz import CHECKS, fuzz_settings, send

# The schema only: the app that serves the requests is the plugin's, per backend.
schema = schemathesis.openapi.from_dict(
    create_app(
        AccessSettings(environment="test", signing_key_dir=Path(tempfile.mkdtemp()))
    ).openapi()
)
SERVICE_ONLY = ("/v1/ingest-keys/exchange", "/v1/principals/{subject}/status")


@pytest.fixture
async def fuzz_headers(make_person, tokens):
    person = await make_person(*sorted(PERSON_ROLES))
    return {
        "person": tokens.headers(*sorted(PERSON_ROLES), subject=person.subject),
        "service": tokens.headers("service"),
    }


@schema.parametrize()
@fuzz_settings()
async def test_access_api_never_fails_and_keeps_its_schema(case, client, fuzz_headers):
    who = "service" if case.operation.path in SERVICE_ONLY else "person"
    response = await send(client, case, fuzz_headers[who])
    case.validate_response(response, checks=CHECKS)
