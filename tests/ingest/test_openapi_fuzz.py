"""Property-based fuzzing of the ingest OpenAPI (schemathesis): whatever the input, no 5xx and
every answer matches its documented schema, status codes and content type."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alpr_common.roles import PERSON_ROLES
from alpr_common.testing.plugin import PURPOSE_HEADERS
from alpr_ingest.main import create_app
from alpr_ingest.settings import IngestSettings

_tmp = Path(tempfile.mkdtemp())
# The schema comes from a standalone app; the requests go to the plugin's app, per backend.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(
        IngestSettings(
            environment="test",
            run_relay=False,
            run_maintenance=False,
            database_url=f"sqlite+aiosqlite:///{_tmp / 'schema.db'}",
            image_dir=_tmp / "images",
            export_dir=_tmp / "exports",
        )
    ),
)
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.fixture
def db(isolated_db):
    # schemathesis runs the test body on its own event loop: a database of its own, no pool.
    return isolated_db


@pytest.fixture
async def fuzz_headers(ingest):
    # The isolated database outlives one test: register the camera once.
    known = await ingest.client.get("/v1/cameras/cam-fuzz", headers=ingest.tokens.headers("admin"))
    if known.status_code == 404:
        await ingest.camera("cam-fuzz", keys=("FUZZ-KEY",))
    return {
        "person": {
            **ingest.tokens.headers(*sorted(PERSON_ROLES), subject="user:fuzz"),
            **PURPOSE_HEADERS,
        },
        "camera": ingest.tokens.headers("camera", cameras=("cam-fuzz",)),
        "service": ingest.tokens.headers("service"),
    }


def _who(case) -> str:
    scopes = {
        s
        for req in case.operation.definition.raw.get("security", [])
        for values in req.values()
        for s in values
    }
    if scopes == {"camera"}:
        return "camera"
    if scopes == {"service"}:
        return "service"
    return "person"


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
async def test_ingest_api_never_fails_and_keeps_its_schema(case, client, fuzz_headers):
    kwargs = case.as_transport_kwargs(base_url="http://test", headers=fuzz_headers[_who(case)])
    headers = dict(kwargs.get("headers") or {})
    body = kwargs.get("data")
    if kwargs.get("files"):
        # Encode multipart the way schemathesis's own transport does (requests), then send bytes.
        prepared = requests.PreparedRequest()
        prepared.prepare_headers(None)
        prepared.prepare_body(body, kwargs["files"])
        body = prepared.body
        headers["Content-Type"] = prepared.headers["Content-Type"]
    elif isinstance(body, dict):
        body = {k: v if isinstance(v, str | bytes) else json.dumps(v) for k, v in body.items()}
    response = await client.request(
        kwargs["method"],
        kwargs["url"],
        headers=headers,
        params=kwargs.get("params"),
        json=kwargs.get("json"),
        content=body if isinstance(body, bytes | str) else None,
        data=body if isinstance(body, dict) else None,
    )
    case.validate_response(response, checks=CHECKS)
