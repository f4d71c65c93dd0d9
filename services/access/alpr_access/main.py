from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from alpr_access import clients, models, training
from alpr_access.api import ROUTERS
from alpr_access.principals import OwnTables
from alpr_access.security import KeyStore, LocalJWKS, LocalServiceTokens, Passwords
from alpr_access.settings import AccessSettings
from alpr_common.app import ServiceSpec, build_app
from alpr_common.db import Database
from alpr_common.jwt import TokenVerifier
from alpr_common.metrics import add_probe

log = logging.getLogger("alpr.access")


@contextlib.asynccontextmanager
async def seed_service_clients(app: FastAPI) -> AsyncIterator[None]:
    """Upsert ACCESS_SERVICE_CLIENTS before serving, so the services can fetch tokens."""
    settings: AccessSettings = app.state.settings
    secrets = settings.service_client_secrets()
    if secrets:
        db: Database = app.state.db
        async with db.sessionmaker() as session:
            changed = await clients.seed_service_clients(
                session, passwords=app.state.passwords, clients=secrets
            )
            await session.commit()
        log.info("service clients seeded", extra={"clients": sorted(secrets), "changed": changed})
    yield


def create_app(settings: AccessSettings | None = None) -> FastAPI:
    settings = settings or AccessSettings()
    # Access owns the signing keys; in prod they must be provisioned, never generated here.
    keys = KeyStore(settings.signing_key_dir, create=settings.environment != "prod")
    verifier = TokenVerifier(
        LocalJWKS(keys), issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    app = build_app(
        settings,
        title="ALPR access",
        description=(
            "Users, roles, training, credentials, tokens and login attempts "
            "(GO 344.2(b), 344.4(c), 344.4(d), 344.7). People without valid training still get "
            "a token (without `trn`): the gateway lets it reach only this service, for "
            "personnel administration and their own password."
        ),
        routers=ROUTERS,
        outbox=models.OUTBOX,
        hooks=[seed_service_clients],
        verifier=verifier,
        # Personnel administration and one's own password need no ALPR training (344.7(b)).
        training_required=False,
    )
    # Access checks its principals' live status in its own tables, at every request.
    app.state.principal_status.use_source(OwnTables(lambda: app.state.db), 0.0)
    app.state.owns_keys = True
    add_probe(app, training.training_metrics)
    app.state.keys = keys
    app.state.passwords = Passwords.from_settings(settings)
    # Access signs its own service tokens for its relay instead of calling itself over HTTP.
    app.state.tokens = LocalServiceTokens(keys, settings)
    if app.state.relay is not None:
        app.state.relay.token = app.state.tokens.get
    return app


SPEC = ServiceSpec(
    name="access",
    settings_cls=AccessSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
