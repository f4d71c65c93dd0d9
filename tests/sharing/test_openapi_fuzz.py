"""Property-based fuzzing of the sharing OpenAPI (schemathesis): no 5xx, no answer outside its
own schema, with a token holding every sharing role and the purpose headers. Sharing's calls to
ingest and hotlist go to those real apps in process, on migrated SQLite files of their own.

Schemathesis drives the app from its own event-loop thread, so the app gets the plugin's
isolated database rather than the per-test transaction of the other tests."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import schemathesis

from alpr_common.app import use_database
from alpr_common.db import Database, create_engine
from alpr_common.jwt import JWKSCache, TokenVerifier
from alpr_common.migrations import upgrade
from alpr_common.testing.plugin import AUDIENCE, ISSUER, PURPOSE_HEADERS, trust_minted_tokens
from alpr_hotlist.main import SPEC as HOTLIST_SPEC
from alpr_hotlist.main import create_app as create_hotlist
from alpr_hotlist.settings import HotlistSettings
from alpr_ingest.main import SPEC as INGEST_SPEC
from alpr_ingest.main import create_app as create_ingest
from alpr_ingest.settings import IngestSettings
from alpr_sharing.main import create_app
from alpr_sharing.settings import SharingSettings
from tests.helpers.fuzz import CHECKS, fuzz_settings
from tests.helpers.sharing import Peers, StaticTokens

ROLES = (
    "records_officer",
    "chief_of_police",
    "atiu_lieutenant",
    "admin",
    "risk_management",
    "city_auditor",
    "officer",
)


@pytest.fixture
def fuzz_db_url(isolated_db) -> str:
    return isolated_db.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def fuzz_headers(tokens) -> dict[str, str]:
    token = tokens.token(*ROLES, subject="user:fuzzer")
    return {"Authorization": f"Bearer {token}", **PURPOSE_HEADERS}


def _verify_with(app, keyring, tokens) -> None:
    app.state.verifier = TokenVerifier(
        JWKSCache(static=keyring.jwks()), issuer=ISSUER, audience=AUDIENCE
    )
    trust_minted_tokens(app, tokens.directory)


@pytest.fixture
def sharing_schema(fuzz_db_url: str, keyring, tokens, tmp_path):
    urls = {}
    for spec in (INGEST_SPEC, HOTLIST_SPEC):
        urls[spec.name] = f"sqlite+aiosqlite:///{tmp_path / spec.name}.db"
        asyncio.run(upgrade(spec.migrations_dir, urls[spec.name]))
    ingest = create_ingest(
        IngestSettings(
            environment="test",
            run_relay=False,
            run_maintenance=False,
            database_url=urls["ingest"],
            export_dir=tmp_path / "exports",
        )
    )
    hotlist = create_hotlist(
        HotlistSettings(
            environment="test", run_relay=False, run_workers=False, database_url=urls["hotlist"]
        )
    )
    for peer in (ingest, hotlist):
        use_database(peer, Database(create_engine(peer.state.settings.database_url, pooled=False)))
        _verify_with(peer, keyring, tokens)
    app = create_app(
        SharingSettings(
            environment="test",
            run_relay=False,
            database_url=fuzz_db_url,
            ingest_url="http://ingest",
            hotlist_url="http://hotlist",
        )
    )
    _verify_with(app, keyring, tokens)
    app.state.http = httpx.AsyncClient(transport=Peers({"ingest": ingest, "hotlist": hotlist}))
    app.state.tokens = StaticTokens(tokens.token("service", subject="client:sharing"))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("sharing_schema")


@schema.parametrize()
@fuzz_settings()
def test_sharing_api_answers_within_its_schema(case, fuzz_headers):
    response = case.call(headers=fuzz_headers)
    case.validate_response(response, checks=CHECKS)
