"""Static camera ingest keys (CSO) and their exchange for a token (gateway)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alpr_access import ingest_keys, tokens
from alpr_access.api.params import KeyId
from alpr_access.auth import ChiefSecurityOfficer, Service
from alpr_access.deps import KeysDep, SettingsDep, SourceAddressDep
from alpr_access.errors import (
    ClientConflict,
    ClientNotFound,
    IngestKeyNotFound,
    InvalidBinding,
    InvalidCredentials,
    MalformedBody,
)
from alpr_access.schemas import (
    ID_PATTERN,
    IngestKeyCreate,
    IngestKeyCreated,
    IngestKeyExchange,
    IngestKeyRead,
    TokenResponse,
)
from alpr_common.db import SessionDep
from alpr_common.errors import responses
from alpr_common.pagination import Page, PageDep

router = APIRouter(prefix="/v1")


@router.post(
    "/ingest-keys/exchange",
    response_model=TokenResponse,
    tags=["ingest keys"],
    responses=responses(MalformedBody, InvalidCredentials),
)
async def exchange_ingest_key(
    body: IngestKeyExchange,
    _caller: Service,
    session: SessionDep,
    settings: SettingsDep,
    keys: KeysDep,
    source_address: SourceAddressDep,
) -> TokenResponse:
    """Internal (gateway): trade a camera's ingest key for a short camera token."""
    return await tokens.exchange_ingest_key(
        session, settings=settings, keys=keys, key=body.key, source_address=source_address
    )


@router.post(
    "/ingest-keys",
    response_model=IngestKeyCreated,
    status_code=201,
    tags=["ingest keys"],
    responses=responses(MalformedBody, ClientNotFound, ClientConflict, InvalidBinding),
)
async def create_ingest_key(
    body: IngestKeyCreate, principal: ChiefSecurityOfficer, session: SessionDep
) -> IngestKeyCreated:
    """Issue a static ingest key for a camera client (CSO); the key is shown once."""
    return await ingest_keys.create_ingest_key(session, actor=principal.subject, data=body)


@router.get("/ingest-keys", response_model=Page[IngestKeyRead], tags=["ingest keys"])
async def list_ingest_keys(
    _cso: ChiefSecurityOfficer,
    session: SessionDep,
    page: PageDep,
    client_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    active: bool | None = None,
) -> Page[IngestKeyRead]:
    """Ingest keys (never the keys themselves), oldest first."""
    return await ingest_keys.list_ingest_keys(
        session, client_id=client_id, active=active, page=page
    )


@router.delete(
    "/ingest-keys/{key_id}",
    response_model=IngestKeyRead,
    tags=["ingest keys"],
    responses=responses(IngestKeyNotFound, ClientConflict),
)
async def revoke_ingest_key(
    key_id: KeyId, principal: ChiefSecurityOfficer, session: SessionDep
) -> IngestKeyRead:
    """Revoke an ingest key (CSO)."""
    return await ingest_keys.revoke_ingest_key(session, actor=principal.subject, key_id=key_id)
