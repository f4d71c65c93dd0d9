"""Every query of the sharing service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from alpr_sharing.models import (
    Agency,
    AgencyStatusChange,
    EscalationNotice,
    MisuseReport,
    ReleasePackage,
    RequestOutcome,
    RequestStep,
    SharingRequest,
)

M = TypeVar("M", bound=SQLModel)

# Requests that may still lead to a release: a suspension refuses them (344.4(b)).
PENDING = ("received", "under_review", "escalated", "approved")


async def _page(
    session: AsyncSession, stmt: Any, order: Sequence[Any], *, limit: int, offset: int
) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await session.scalars(stmt.order_by(*order).limit(limit).offset(offset))
    return list(rows), int(total or 0)


# --- agencies -----------------------------------------------------------------------------------


async def agency_by_ori(session: AsyncSession, ori: str) -> Agency | None:
    found = await session.scalars(select(Agency).where(Agency.ori == ori))
    return found.first()


async def list_agencies(
    session: AsyncSession,
    *,
    only: str | None,
    status: str | None,
    kind: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Agency], int]:
    stmt = select(Agency)
    if only is not None:
        stmt = stmt.where(Agency.id == only)
    if status is not None:
        stmt = stmt.where(Agency.status == status)
    if kind is not None:
        stmt = stmt.where(Agency.kind == kind)
    return await _page(session, stmt, [Agency.name, Agency.id], limit=limit, offset=offset)


async def status_history(session: AsyncSession, agency_id: str) -> list[AgencyStatusChange]:
    rows = await session.scalars(
        select(AgencyStatusChange)
        .where(AgencyStatusChange.agency_id == agency_id)
        .order_by(AgencyStatusChange.decided_at, AgencyStatusChange.id)
    )
    return list(rows)


# --- requests -----------------------------------------------------------------------------------


async def request_by_reference(
    session: AsyncSession, submitted_by: str, reference: str
) -> SharingRequest | None:
    found = await session.scalars(
        select(SharingRequest).where(
            SharingRequest.submitted_by == submitted_by,
            SharingRequest.client_reference == reference,
        )
    )
    return found.first()


async def list_requests(
    session: AsyncSession,
    *,
    agency_id: str | None,
    status: str | None,
    kind: str | None,
    escalated: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[SharingRequest], int]:
    stmt = select(SharingRequest)
    if agency_id is not None:
        stmt = stmt.where(SharingRequest.agency_id == agency_id)
    if status is not None:
        stmt = stmt.where(SharingRequest.status == status)
    if kind is not None:
        stmt = stmt.where(SharingRequest.kind == kind)
    if escalated is not None:
        stmt = stmt.where(SharingRequest.escalated == escalated)
    return await _page(
        session,
        stmt,
        [SharingRequest.received_at.desc(), SharingRequest.id],  # type: ignore[attr-defined]
        limit=limit,
        offset=offset,
    )


async def pending_requests(session: AsyncSession, agency_id: str) -> list[SharingRequest]:
    rows = await session.scalars(
        select(SharingRequest)
        .where(
            SharingRequest.agency_id == agency_id,
            SharingRequest.status.in_(PENDING),  # type: ignore[attr-defined]
        )
        .order_by(SharingRequest.received_at)
    )
    return list(rows)


async def _children(session: AsyncSession, model: type[M], request_id: str, order: Any) -> list[M]:
    rows = await session.scalars(
        select(model).where(model.request_id == request_id).order_by(order)  # type: ignore[attr-defined]
    )
    return list(rows)


async def steps(session: AsyncSession, request_id: str) -> list[RequestStep]:
    return await _children(session, RequestStep, request_id, RequestStep.at)


async def notices(session: AsyncSession, request_id: str) -> list[EscalationNotice]:
    return await _children(session, EscalationNotice, request_id, EscalationNotice.notified_at)


async def outcomes(session: AsyncSession, request_id: str) -> list[RequestOutcome]:
    return await _children(session, RequestOutcome, request_id, RequestOutcome.recorded_at)


# --- packages -----------------------------------------------------------------------------------


async def list_packages(
    session: AsyncSession,
    *,
    agency_id: str | None,
    request_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ReleasePackage], int]:
    stmt = select(ReleasePackage)
    if agency_id is not None:
        stmt = stmt.where(ReleasePackage.agency_id == agency_id)
    if request_id is not None:
        stmt = stmt.where(ReleasePackage.request_id == request_id)
    return await _page(
        session,
        stmt,
        [ReleasePackage.created_at.desc(), ReleasePackage.id],  # type: ignore[attr-defined]
        limit=limit,
        offset=offset,
    )


async def live_packages(
    session: AsyncSession,
    *,
    agency_id: str | None = None,
    request_id: str | None = None,
    now: datetime,
) -> list[ReleasePackage]:
    stmt = select(ReleasePackage).where(
        ReleasePackage.revoked_at.is_(None),  # type: ignore[union-attr]
        ReleasePackage.expires_at > now,
    )
    if agency_id is not None:
        stmt = stmt.where(ReleasePackage.agency_id == agency_id)
    if request_id is not None:
        stmt = stmt.where(ReleasePackage.request_id == request_id)
    return list(await session.scalars(stmt.order_by(ReleasePackage.created_at)))


# --- misuse -------------------------------------------------------------------------------------


async def list_misuse_reports(
    session: AsyncSession,
    *,
    agency_id: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[MisuseReport], int]:
    stmt = select(MisuseReport)
    if agency_id is not None:
        stmt = stmt.where(MisuseReport.agency_id == agency_id)
    if status is not None:
        stmt = stmt.where(MisuseReport.status == status)
    return await _page(
        session,
        stmt,
        [MisuseReport.reported_at.desc(), MisuseReport.id],  # type: ignore[attr-defined]
        limit=limit,
        offset=offset,
    )
