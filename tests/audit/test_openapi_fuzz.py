"""Property-based fuzzing of the audit OpenAPI (schemathesis): no 5xx, no answer that breaks its
own schema, with the auth and purpose headers of an auditor (and a service, for the intake).

Schemathesis drives the app from its own event-loop thread, so the app gets its own freshly
migrated database rather than the per-test transaction of the other tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis

from alpr_audit.main import SPEC, create_app
from alpr_audit.settings import AuditSettings
from alpr_common.jwt import JWKSCache, TokenVerifier
from alpr_common.migrations import upgrade
from alpr_common.testing.plugin import AUDIENCE, ISSUER, pg_admin_url, trust_minted_tokens
from tests.helpers.fuzz import CHECKS, fuzz_settings


@pytest.fixture
async def fuzz_db_url(db_backend: str, tmp_path: Path):
    if db_backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
        await upgrade(SPEC.migrations_dir, url)
        yield url
        return
    import asyncpg

    name = f"alpr_test_audit_fuzz_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = await asyncpg.connect(pg_admin_url())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"{pg_admin_url().rsplit('/', 1)[0]}/{name}".replace(
        "postgresql://", "postgresql+asyncpg://", 1
    )
    await upgrade(SPEC.migrations_dir, url)
    yield url
    admin = await asyncpg.connect(pg_admin_url())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def fuzz_headers(tokens, audit_purpose) -> dict[str, str]:
    # Risk Management too, so the review, allegation, import and policy-change routes are driven
    # past the role check into their rules.
    token = tokens.token("service", "city_auditor", "risk_management")
    return {"Authorization": f"Bearer {token}", **audit_purpose}


@pytest.fixture
def audit_schema(fuzz_db_url: str, keyring, tokens, tmp_path: Path):
    app = create_app(
        AuditSettings(
            environment="test",
            run_relay=False,
            database_url=fuzz_db_url,
            checkpoint_dir=tmp_path / "checkpoints",
            checkpoint_key_file=tmp_path / "keys" / "checkpoint.pem",
            checkpoint_interval_seconds=0,
        )
    )
    app.state.verifier = TokenVerifier(
        JWKSCache(static=keyring.jwks()), issuer=ISSUER, audience=AUDIENCE
    )
    trust_minted_tokens(app, tokens.directory)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("audit_schema")


@pytest.mark.policy("344.6(c)")
@schema.parametrize()
@fuzz_settings()
def test_audit_api_answers_within_its_schema(case, fuzz_headers):
    # A full batch of 5,000 events is a legitimate request that takes seconds on SQLite.
    response = case.call(headers=fuzz_headers, timeout=60)
    case.validate_response(response, checks=CHECKS)
