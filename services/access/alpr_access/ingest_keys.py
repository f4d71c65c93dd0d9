"""Static ingest keys for cameras that cannot fetch tokens themselves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access import repository as repo
from alpr_access.auditing import emit
from alpr_access.clients import load_client
from alpr_access.errors import ClientConflict, IngestKeyNotFound, InvalidBinding
from alpr_access.models import IngestKey
from alpr_access.schemas import IngestKeyCreate, IngestKeyCreated, IngestKeyRead
from alpr_access.security import new_id, new_ingest_key, sha256_hex
from alpr_common.db import utcnow
from alpr_common.pagination import Page, PageParams
from alpr_common.roles import Role


def _key_read(key: IngestKey) -> IngestKeyRead:
    return IngestKeyRead(
        id=key.id,
        client_id=key.client_id,
        label=key.label,
        prefix=key.prefix,
        cameras=list(key.cameras),
        created_at=key.created_at,
        created_by=key.created_by,
        revoked_at=key.revoked_at,
        revoked_by=key.revoked_by,
    )


async def create_ingest_key(
    session: AsyncSession, *, actor: str, data: IngestKeyCreate, now: datetime | None = None
) -> IngestKeyCreated:
    """A static key for a camera that cannot fetch tokens; the key is shown once."""
    now = now or utcnow()
    client = await load_client(session, data.client_id, for_update=True)
    if client.kind != Role.CAMERA:
        raise InvalidBinding("ingest keys belong to camera clients only")
    if not client.active:
        raise ClientConflict(f"client {client.id} is revoked")
    cameras = list(dict.fromkeys(data.cameras)) if data.cameras is not None else client.cameras
    unknown = [c for c in cameras if c not in set(client.cameras)]
    if unknown or not cameras:
        raise InvalidBinding(
            "an ingest key is bound to some of its client's cameras; not the client's: "
            + (", ".join(unknown) or "(none given)")
        )
    key = new_ingest_key()
    row = await repo.add(
        session,
        IngestKey(
            id=new_id(),
            client_id=client.id,
            label=data.label,
            key_hash=sha256_hex(key),
            prefix=key[:12],
            cameras=list(cameras),
            created_at=now,
            created_by=actor,
        ),
    )
    await emit(
        session,
        "ingest_key_created",
        actor=actor,
        now=now,
        subject=f"client:{client.id}",
        client_id=client.id,
        key_id=row.id,
        prefix=row.prefix,
        cameras=list(cameras),
        label=row.label,
    )
    return IngestKeyCreated(ingest_key=_key_read(row), key=key)


async def list_ingest_keys(
    session: AsyncSession, *, client_id: str | None, active: bool | None, page: PageParams
) -> Page[IngestKeyRead]:
    keys, more, total = await repo.list_ingest_keys(
        session, client_id=client_id, active=active, page=page
    )
    return page.answer([_key_read(k) for k in keys], more, total)


async def revoke_ingest_key(
    session: AsyncSession, *, actor: str, key_id: str, now: datetime | None = None
) -> IngestKeyRead:
    """Revoke an ingest key; the gateway's cached camera token lapses within minutes."""
    now = now or utcnow()
    key = await repo.get_ingest_key(session, key_id)
    if key is None:
        raise IngestKeyNotFound(f"no ingest key {key_id}")
    if key.revoked_at is not None:
        raise ClientConflict(f"ingest key {key.id} is already revoked")
    key.revoked_at = now
    key.revoked_by = actor
    await emit(
        session,
        "ingest_key_revoked",
        actor=actor,
        now=now,
        subject=f"client:{key.client_id}",
        client_id=key.client_id,
        key_id=key.id,
        prefix=key.prefix,
    )
    await session.flush()
    return _key_read(key)
