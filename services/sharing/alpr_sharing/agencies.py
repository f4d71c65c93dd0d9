"""The register of outside agencies (344.4(b), 344.5(a)): who they are, what kind of body, and
whether sharing with them continues. Status changes are the ATIU Lieutenant's (see misuse.py)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.db import utcnow
from alpr_common.pagination import PageParams
from alpr_sharing import repository as repo
from alpr_sharing.auth import agency_scope
from alpr_sharing.errors import AgencyNotFound, AgencySuspended, OriTaken
from alpr_sharing.models import Agency, AgencyStatusChange
from alpr_sharing.schemas import (
    AgencyCreate,
    AgencyRead,
    AgencyStatusChangeRead,
    AgencyUpdate,
    Page,
)


def new_id() -> str:
    return uuid.uuid4().hex


async def load(session: AsyncSession, agency_id: str) -> Agency:
    agency = await session.get(Agency, agency_id)
    if agency is None:
        raise AgencyNotFound(f"no agency {agency_id!r}")
    return agency


async def load_for(session: AsyncSession, *, actor: Principal, agency_id: str) -> Agency:
    """The agency, if the caller may see it: an agency client sees only its own (404 else)."""
    scope = agency_scope(actor)
    if scope is not None and scope != agency_id:
        raise AgencyNotFound(f"no agency {agency_id!r}")
    return await load(session, agency_id)


def require_active(agency: Agency) -> None:
    # 344.4(b): once the ATIU Lieutenant suspends sharing, the agency gets nothing.
    if agency.status != "active":
        raise AgencySuspended(
            f"agency {agency.name!r} is suspended from data sharing by the ATIU Lieutenant"
        )


async def _ori_free(session: AsyncSession, ori: str | None, agency_id: str | None) -> None:
    if ori is None:
        return
    other = await repo.agency_by_ori(session, ori)
    if other is not None and other.id != agency_id:
        raise OriTaken(f"ORI {ori!r} is already registered to agency {other.id!r}")


async def create(session: AsyncSession, *, actor: Principal, data: AgencyCreate) -> AgencyRead:
    await _ori_free(session, data.ori, None)
    now = utcnow()
    agency = Agency(
        id=new_id(),
        **data.model_dump(),
        status="active",
        created_at=now,
        created_by=actor.subject,
        updated_at=now,
        updated_by=actor.subject,
    )
    session.add(agency)
    session.add(
        AgencyStatusChange(
            id=new_id(),
            agency_id=agency.id,
            decision="registered",
            status="active",
            reason="registered by the records unit",
            decided_at=now,
            decided_by=actor.subject,
            decided_by_name=actor.name,
        )
    )
    await session.flush()
    return AgencyRead.model_validate(agency)


async def update(
    session: AsyncSession, *, actor: Principal, agency_id: str, data: AgencyUpdate
) -> AgencyRead:
    agency = await load(session, agency_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "ori" in changes:
        await _ori_free(session, changes["ori"], agency.id)
    for key, value in changes.items():
        setattr(agency, key, value)
    agency.updated_at = utcnow()
    agency.updated_by = actor.subject
    await session.flush()
    return AgencyRead.model_validate(agency)


async def get(session: AsyncSession, *, actor: Principal, agency_id: str) -> AgencyRead:
    return AgencyRead.model_validate(await load_for(session, actor=actor, agency_id=agency_id))


async def list_agencies(
    session: AsyncSession,
    *,
    actor: Principal,
    status: str | None,
    kind: str | None,
    page: PageParams,
) -> Page[AgencyRead]:
    rows, more, total = await repo.list_agencies(
        session, only=agency_scope(actor), status=status, kind=kind, page=page
    )
    return page.answer([AgencyRead.model_validate(a) for a in rows], more, total)


async def history(
    session: AsyncSession, *, actor: Principal, agency_id: str
) -> list[AgencyStatusChangeRead]:
    await load_for(session, actor=actor, agency_id=agency_id)
    return [
        AgencyStatusChangeRead.model_validate(c)
        for c in await repo.status_history(session, agency_id)
    ]
