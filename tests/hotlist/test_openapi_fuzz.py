"""Property-based fuzzing of the hotlist OpenAPI (schemathesis): no 5xx, no answer outside its
own schema, with a token holding every hotlist role and the purpose headers. The live stream is
left out: it never ends by design (tests/hotlist/test_alerts_stream.py covers it).

Schemathesis drives the app from its own event-loop thread, so the app gets the plugin's
isolated database rather than the per-test transaction of the other tests."""

from __future__ import annotations

import pytest
import schemathesis

from alpr_common.jwt import JWKSCache, TokenVerifier
from alpr_common.testing.plugin import AUDIENCE, ISSUER, PURPOSE_HEADERS, trust_minted_tokens
from alpr_hotlist.main import create_app
from alpr_hotlist.settings import HotlistSettings
from tests.helpers.fuzz import CHECKS, fuzz_settings

ROLES = (
    "hotlist_manager",
    "rtcc_operator",
    "officer",
    "supervisor",
    "risk_management",
    "service",
)


@pytest.fixture
def fuzz_db_url(isolated_db) -> str:
    return isolated_db.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def fuzz_headers(tokens) -> dict[str, str]:
    token = tokens.token(*ROLES, subject="user:fuzzer")
    return {"Authorization": f"Bearer {token}", **PURPOSE_HEADERS}


@pytest.fixture
def hotlist_schema(fuzz_db_url: str, keyring, tokens):
    app = create_app(
        HotlistSettings(
            environment="test", run_relay=False, run_workers=False, database_url=fuzz_db_url
        )
    )
    app.state.verifier = TokenVerifier(
        JWKSCache(static=keyring.jwks()), issuer=ISSUER, audience=AUDIENCE
    )
    trust_minted_tokens(app, tokens.directory)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("hotlist_schema").exclude(path="/v1/alerts/stream")


@schema.parametrize()
@fuzz_settings()
def test_hotlist_api_answers_within_its_schema(case, fuzz_headers):
    response = case.call(headers=fuzz_headers)
    case.validate_response(response, checks=CHECKS)
