"""The access HTTP API, one module per resource."""

from __future__ import annotations

from alpr_access.api.clients import router as clients_router
from alpr_access.api.ingest_keys import router as ingest_keys_router
from alpr_access.api.lockouts import router as lockouts_router
from alpr_access.api.login_attempts import router as login_attempts_router
from alpr_access.api.login_digests import router as login_digests_router
from alpr_access.api.principals import router as principals_router
from alpr_access.api.tokens import jwks_router
from alpr_access.api.tokens import router as tokens_router
from alpr_access.api.training import router as training_router
from alpr_access.api.users import router as users_router

ROUTERS = (
    tokens_router,
    users_router,
    ingest_keys_router,
    principals_router,
    training_router,
    lockouts_router,
    clients_router,
    login_attempts_router,
    login_digests_router,
    jwks_router,
)

__all__ = ["ROUTERS"]
