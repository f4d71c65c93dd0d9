"""Property-based fuzzing of the ingest OpenAPI (schemathesis): whatever the input, no 5xx and
every answer matches its documented schema, status codes and content type."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis

from alpr_common.roles import PERSON_ROLES
from alpr_common.testing.plugin import PURPOSE_HEADERS
from alpr_ingest.main import create_app
from alpr_ingest.settings import IngestSettings
from tests.helpers.fuzz import CHECKS, fuzz_settings, send

_tmp = Path(tempfile.mkdtemp())
# The schema comes from a standalone app; the requests go to the plugin's app, per backend.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(
        IngestSettings(
            environment="test",
            run_relay=False,
            run_maintenance=False,
            purge_at_startup=False,
            database_url=f"sqlite+aiosqlite:///{_tmp / 'schema.db'}",
            image_dir=_tmp / "images",
            export_dir=_tmp / "exports",
        )
    ),
)


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
@fuzz_settings(max_examples=30)
async def test_ingest_api_never_fails_and_keeps_its_schema(case, client, fuzz_headers):
    response = await send(client, case, fuzz_headers[_who(case)])
    case.validate_response(response, checks=CHECKS)
