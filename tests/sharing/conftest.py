"""Fixtures for the sharing tests: the sharing app on the plugin's database, and the real ingest
and hotlist apps it calls, in process, each on its own migrated database of the same backend
(rolled back after each test), reached through a transport that routes by host name. Sharing's
service token is minted by the test keyring, as access would issue it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from alpr_common.app import use_database
from alpr_common.db import Database
from alpr_common.jwt import JWKSCache, TokenVerifier
from alpr_common.testing.plugin import AUDIENCE, ISSUER, trust_minted_tokens
from alpr_hotlist.main import SPEC as HOTLIST_SPEC
from alpr_hotlist.main import create_app as create_hotlist
from alpr_hotlist.settings import HotlistSettings
from alpr_ingest.main import SPEC as INGEST_SPEC
from alpr_ingest.main import create_app as create_ingest
from alpr_ingest.settings import IngestSettings
from alpr_sharing.main import SPEC
from alpr_sharing.settings import SharingSettings
from tests.helpers.sharing import Peers, Sharing, StaticTokens


@pytest.fixture
def service_spec():
    return SPEC


@pytest.fixture
def app_settings(migrated) -> SharingSettings:
    return SharingSettings(
        environment="test",
        run_relay=False,
        database_url=migrated.url,
        ingest_url="http://ingest",
        hotlist_url="http://hotlist",
    )


async def _rolled_back(database_factory, spec, backend) -> AsyncIterator[tuple[Database, str]]:
    migrated = await database_factory.get(spec, backend)
    async with migrated.engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield Database(migrated.engine, bind=conn), migrated.url
        finally:
            await outer.rollback()


@pytest.fixture
async def ingest_db(database_factory, db_backend):
    async for pair in _rolled_back(database_factory, INGEST_SPEC, db_backend):
        yield pair


@pytest.fixture
async def hotlist_db(database_factory, db_backend):
    async for pair in _rolled_back(database_factory, HOTLIST_SPEC, db_backend):
        yield pair


def _verify_with(app, keyring, tokens) -> None:
    app.state.verifier = TokenVerifier(
        JWKSCache(static=keyring.jwks()), issuer=ISSUER, audience=AUDIENCE
    )
    # Access is not running: the peers check principals against the minted tokens' directory.
    trust_minted_tokens(app, tokens.directory)


@pytest.fixture
def ingest_app(ingest_db, keyring, tokens, tmp_path):
    database, url = ingest_db
    application = create_ingest(
        IngestSettings(
            environment="test",
            run_relay=False,
            run_maintenance=False,
            database_url=url,
            image_dir=tmp_path / "images",
            export_dir=tmp_path / "exports",
        )
    )
    use_database(application, database)
    _verify_with(application, keyring, tokens)
    return application


@pytest.fixture
def hotlist_app(hotlist_db, keyring, tokens):
    database, url = hotlist_db
    application = create_hotlist(
        HotlistSettings(environment="test", run_relay=False, run_workers=False, database_url=url)
    )
    use_database(application, database)
    _verify_with(application, keyring, tokens)
    return application


@pytest.fixture
async def peers(app, ingest_app, hotlist_app, tokens) -> AsyncIterator[Peers]:
    """Route sharing's outgoing calls to the in-process ingest and hotlist."""
    routed = Peers({"ingest": ingest_app, "hotlist": hotlist_app})
    app.state.http = httpx.AsyncClient(transport=routed, timeout=30)
    app.state.tokens = StaticTokens(tokens.token("service", subject="client:sharing"))
    yield routed
    await app.state.http.aclose()


@pytest.fixture
async def sharing(client, tokens, db, peers, ingest_app, hotlist_app) -> Sharing:
    return Sharing(
        client=client,
        tokens=tokens,
        db=db,
        peers=peers,
        ingest=httpx.AsyncClient(
            transport=httpx.ASGITransport(app=ingest_app), base_url="http://i"
        ),
        hotlist=httpx.AsyncClient(
            transport=httpx.ASGITransport(app=hotlist_app), base_url="http://h"
        ),
    )
