"""Machine clients: cameras, other agencies and the services themselves."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access import repository as repo
from alpr_access.auditing import SYSTEM_ACTOR, emit
from alpr_access.errors import ClientConflict, ClientNotFound, InvalidBinding
from alpr_access.models import Client
from alpr_access.schemas import ClientCreate, ClientRead, ClientSecret, ClientUpdate
from alpr_access.security import Passwords, new_client_secret
from alpr_common.db import rowcount, utcnow
from alpr_common.outbox import insert_ignore
from alpr_common.pagination import Page, PageParams
from alpr_common.roles import Role

log = logging.getLogger("alpr.access")


def _client_read(client: Client) -> ClientRead:
    return ClientRead(
        id=client.id,
        name=client.name,
        kind=client.kind,
        cameras=list(client.cameras),
        agency_id=client.agency_id,
        active=client.active,
        created_at=client.created_at,
        created_by=client.created_by,
        revoked_at=client.revoked_at,
    )


def _check_bindings(kind: str, cameras: list[str], agency_id: str | None) -> None:
    if kind == Role.CAMERA and (not cameras or agency_id is not None):
        raise InvalidBinding("a camera client is bound to one or more cameras and no agency")
    if kind == Role.AGENCY and (agency_id is None or cameras):
        raise InvalidBinding("an agency client is bound to one agency_id and no cameras")
    if kind == Role.SERVICE and (cameras or agency_id is not None):
        raise InvalidBinding("a service client has no camera or agency bindings")


async def load_client(session: AsyncSession, client_id: str, *, for_update: bool = False) -> Client:
    client = await repo.get_client(session, client_id, for_update=for_update)
    if client is None:
        raise ClientNotFound(f"no client {client_id}")
    return client


async def create_client(
    session: AsyncSession,
    *,
    passwords: Passwords,
    actor: str,
    data: ClientCreate,
    now: datetime | None = None,
) -> ClientSecret:
    """A camera vendor's or another agency's system; its secret is shown once."""
    now = now or utcnow()
    cameras = list(dict.fromkeys(data.cameras))
    _check_bindings(data.kind, cameras, data.agency_id)
    secret = new_client_secret()
    client = await repo.add(
        session,
        Client(
            id=f"{data.kind}-{secrets.token_hex(6)}",
            name=data.name,
            kind=data.kind,
            secret_hash=await passwords.ahash(secret),
            cameras=cameras,
            agency_id=data.agency_id,
            active=True,
            created_at=now,
            created_by=actor,
        ),
    )
    await emit(
        session,
        "client_created",
        actor=actor,
        now=now,
        subject=f"client:{client.id}",
        client_id=client.id,
        name=client.name,
        kind=client.kind,
        cameras=cameras,
        agency_id=client.agency_id,
    )
    return ClientSecret(client=_client_read(client), client_secret=secret)


async def get_client(session: AsyncSession, *, client_id: str) -> ClientRead:
    return _client_read(await load_client(session, client_id))


async def list_clients(
    session: AsyncSession, *, kind: str | None, active: bool | None, page: PageParams
) -> Page[ClientRead]:
    clients, more, total = await repo.list_clients(session, kind=kind, active=active, page=page)
    return page.answer([_client_read(c) for c in clients], more, total)


async def update_client(
    session: AsyncSession,
    *,
    actor: str,
    client_id: str,
    data: ClientUpdate,
    now: datetime | None = None,
) -> ClientRead:
    """Rename a client or change its camera or agency bindings."""
    now = now or utcnow()
    client = await load_client(session, client_id, for_update=True)
    if not client.active:
        raise ClientConflict(f"client {client.id} is revoked")
    cameras = list(dict.fromkeys(data.cameras)) if data.cameras is not None else client.cameras
    agency_id = data.agency_id if data.agency_id is not None else client.agency_id
    _check_bindings(client.kind, list(cameras), agency_id)
    changes: dict[str, Any] = {}
    if data.name is not None and data.name != client.name:
        client.name = changes["name"] = data.name
    if list(cameras) != list(client.cameras):
        client.cameras = changes["cameras"] = list(cameras)
    if agency_id != client.agency_id:
        client.agency_id = changes["agency_id"] = agency_id
    if changes:
        await emit(
            session,
            "client_updated",
            actor=actor,
            now=now,
            subject=f"client:{client.id}",
            client_id=client.id,
            changes=changes,
        )
    await session.flush()
    return _client_read(client)


async def revoke_client(
    session: AsyncSession, *, actor: str, client_id: str, now: datetime | None = None
) -> ClientRead:
    """Revoke a client and all its ingest keys; its tokens stop at the gateway within seconds."""
    now = now or utcnow()
    client = await load_client(session, client_id, for_update=True)
    if not client.active:
        raise ClientConflict(f"client {client.id} is already revoked")
    client.active = False
    client.revoked_at = now
    client.revoked_by = actor
    keys = await repo.revoke_client_keys(session, client.id, now=now, by=actor)
    await emit(
        session,
        "client_revoked",
        actor=actor,
        now=now,
        subject=f"client:{client.id}",
        client_id=client.id,
        ingest_keys_revoked=keys,
    )
    await session.flush()
    return _client_read(client)


async def rotate_client_secret(
    session: AsyncSession,
    *,
    passwords: Passwords,
    actor: str,
    client_id: str,
    now: datetime | None = None,
) -> ClientSecret:
    """A new secret for a client (the old one stops working at once); shown once."""
    now = now or utcnow()
    client = await load_client(session, client_id, for_update=True)
    if not client.active:
        raise ClientConflict(f"client {client.id} is revoked")
    secret = new_client_secret()
    client.secret_hash = await passwords.ahash(secret)
    await emit(
        session,
        "client_secret_rotated",
        actor=actor,
        now=now,
        subject=f"client:{client.id}",
        client_id=client.id,
    )
    await session.flush()
    return ClientSecret(client=_client_read(client), client_secret=secret)


async def seed_service_clients(
    session: AsyncSession,
    *,
    passwords: Passwords,
    clients: dict[str, str],
    now: datetime | None = None,
) -> list[str]:
    """Upsert the internal services' clients from settings; returns the ids created or changed.
    A service client the CSO revoked stays revoked."""
    now = now or utcnow()
    changed: list[str] = []
    for client_id, secret in clients.items():
        inserted = await session.execute(
            insert_ignore(session, Client.__table__)
            .values(
                id=client_id,
                name=client_id,
                kind=Role.SERVICE.value,
                secret_hash=await passwords.ahash(secret),
                cameras=[],
                agency_id=None,
                active=True,
                created_at=now,
                created_by=SYSTEM_ACTOR,
            )
            .on_conflict_do_nothing()
        )
        if rowcount(inserted):
            changed.append(client_id)
            await emit(
                session,
                "client_created",
                actor=SYSTEM_ACTOR,
                now=now,
                subject=f"client:{client_id}",
                client_id=client_id,
                name=client_id,
                kind=Role.SERVICE.value,
                cameras=[],
                agency_id=None,
            )
            continue
        client = await load_client(session, client_id, for_update=True)
        if client.kind != Role.SERVICE:
            log.warning("service client id %s is taken by a %s client", client_id, client.kind)
            continue
        if not await passwords.averify(client.secret_hash, secret):
            client.secret_hash = await passwords.ahash(secret)
            changed.append(client_id)
            await emit(
                session,
                "client_secret_rotated",
                actor=SYSTEM_ACTOR,
                now=now,
                subject=f"client:{client_id}",
                client_id=client_id,
            )
    await session.flush()
    return changed
