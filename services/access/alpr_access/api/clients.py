"""Machine clients (CSO)."""

from __future__ import annotations

from fastapi import APIRouter

from alpr_access import clients
from alpr_access.api.params import ClientIdPath
from alpr_access.auth import ChiefSecurityOfficer
from alpr_access.deps import PasswordsDep
from alpr_access.errors import ClientConflict, ClientNotFound, InvalidBinding, MalformedBody
from alpr_access.schemas import ClientCreate, ClientKind, ClientRead, ClientSecret, ClientUpdate
from alpr_common.db import SessionDep
from alpr_common.errors import responses
from alpr_common.pagination import Page, PageDep

router = APIRouter(prefix="/v1")


@router.post(
    "/clients",
    response_model=ClientSecret,
    status_code=201,
    tags=["clients"],
    responses=responses(MalformedBody, InvalidBinding),
)
async def create_client(
    body: ClientCreate,
    principal: ChiefSecurityOfficer,
    session: SessionDep,
    passwords: PasswordsDep,
) -> ClientSecret:
    """Register a camera or agency client (CSO); the secret is shown once."""
    return await clients.create_client(
        session, passwords=passwords, actor=principal.subject, data=body
    )


@router.get("/clients", response_model=Page[ClientRead], tags=["clients"])
async def list_clients(
    _cso: ChiefSecurityOfficer,
    session: SessionDep,
    page: PageDep,
    kind: ClientKind | None = None,
    active: bool | None = None,
) -> Page[ClientRead]:
    """Machine clients, oldest first."""
    return await clients.list_clients(
        session, kind=kind.value if kind else None, active=active, page=page
    )


@router.get(
    "/clients/{client_id}",
    response_model=ClientRead,
    tags=["clients"],
    responses=responses(ClientNotFound),
)
async def read_client(
    client_id: ClientIdPath, _cso: ChiefSecurityOfficer, session: SessionDep
) -> ClientRead:
    """One machine client."""
    return await clients.get_client(session, client_id=client_id)


@router.patch(
    "/clients/{client_id}",
    response_model=ClientRead,
    tags=["clients"],
    responses=responses(MalformedBody, ClientNotFound, ClientConflict, InvalidBinding),
)
async def update_client(
    client_id: ClientIdPath,
    body: ClientUpdate,
    principal: ChiefSecurityOfficer,
    session: SessionDep,
) -> ClientRead:
    """Rename a client or change its camera or agency bindings (CSO)."""
    return await clients.update_client(
        session, actor=principal.subject, client_id=client_id, data=body
    )


@router.delete(
    "/clients/{client_id}",
    response_model=ClientRead,
    tags=["clients"],
    responses=responses(ClientNotFound, ClientConflict),
)
async def revoke_client(
    client_id: ClientIdPath, principal: ChiefSecurityOfficer, session: SessionDep
) -> ClientRead:
    """Revoke a client and its ingest keys (CSO); the record stays for the audit trail."""
    return await clients.revoke_client(session, actor=principal.subject, client_id=client_id)


@router.post(
    "/clients/{client_id}/secrets",
    response_model=ClientSecret,
    status_code=201,
    tags=["clients"],
    responses=responses(ClientNotFound, ClientConflict),
)
async def rotate_client_secret(
    client_id: ClientIdPath,
    principal: ChiefSecurityOfficer,
    session: SessionDep,
    passwords: PasswordsDep,
) -> ClientSecret:
    """Replace a client's secret (CSO); the new one is shown once, the old one stops working."""
    return await clients.rotate_client_secret(
        session, passwords=passwords, actor=principal.subject, client_id=client_id
    )
