"""Every query of the sharing service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from alpr_common.pagination import Paged, PageParams, offset_page
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

# Requests that may still lead to a release: a suspension refuses them (344.4(b)).
PENDING = ("received", "under_review", "escalated", "approved")


async def _page(
    session: AsyncSession, stmt: Any, order: Sequence[Any], *, page: PageParams
) -> Paged[Any]:
    # Agencies, requests and packages number in the hundreds: pages by position, counted.
    return await offset_page(session, stmt.order_by(*order), page=page)


# --- agencies -----------------------------------------------------------------------------------


async def agency_by_ori(session: AsyncSession, ori: str) -> Agency | None:
    found = await session.scalars(select(Agency).where(col(Agency.ori) == ori))
    return found.first()


async def list_agencies(
    session: AsyncSession,
    *,
    only: str | None,
    status: str | None,
    kind: str | None,
    page: PageParams,
) -> Paged[Agency]:
    stmt = select(Agency)
    if only is not None:
        stmt = stmt.where(col(Agency.id) == only)
    if status is not None:
        stmt = stmt.where(col(Agency.status) == status)
    if kind is not None:
        stmt = stmt.where(col(Agency.kind) == kind)
    return await _page(session, stmt, [col(Agency.name), col(Agency.id)], page=page)


async def status_history(session: AsyncSession, agency_id: str) -> list[AgencyStatusChange]:
    rows = await session.scalars(
        select(AgencyStatusChange)
        .where(col(AgencyStatusChange.agency_id) == agency_id)
        .order_by(col(AgencyStatusChange.decided_at), col(AgencyStatusChange.id))
    )
    return list(rows)


# --- requests -----------------------------------------------------------------------------------


async def request_by_reference(
    session: AsyncSession, submitted_by: str, reference: str
) -> SharingRequest | None:
    found = await session.scalars(
        select(SharingRequest).where(
            col(SharingRequest.submitted_by) == submitted_by,
            col(SharingRequest.client_reference) == reference,
        )
    )
    return found.first()


async def add_request(session: AsyncSession, request: SharingRequest) -> SharingRequest | None:
    """Insert a new request, or, when its submitter's `client_reference` is already taken,
    insert nothing and return the request that holds it. Two submissions of one reference at
    the same instant both pass the look-up before either commits; the unique constraint stops
    the second at this INSERT, which waits for the first to commit and so then finds it. Only
    the savepoint is rolled back: the caller's transaction goes on."""
    try:
        async with session.begin_nested():
            session.add(request)
    except IntegrityError:
        if request.client_reference is None:
            raise
        twin = await request_by_reference(session, request.submitted_by, request.client_reference)
        if twin is None:
            raise
        return twin
    return None


async def list_requests(
    session: AsyncSession,
    *,
    agency_id: str | None,
    status: str | None,
    kind: str | None,
    escalated: bool | None,
    page: PageParams,
) -> Paged[SharingRequest]:
    stmt = select(SharingRequest)
    if agency_id is not None:
        stmt = stmt.where(col(SharingRequest.agency_id) == agency_id)
    if status is not None:
        stmt = stmt.where(col(SharingRequest.status) == status)
    if kind is not None:
        stmt = stmt.where(col(SharingRequest.kind) == kind)
    if escalated is not None:
        stmt = stmt.where(col(SharingRequest.escalated) == escalated)
    return await _page(
        session,
        stmt,
        [col(SharingRequest.received_at).desc(), col(SharingRequest.id)],
        page=page,
    )


async def pending_requests(session: AsyncSession, agency_id: str) -> list[SharingRequest]:
    rows = await session.scalars(
        select(SharingRequest)
        .where(
            col(SharingRequest.agency_id) == agency_id,
            col(SharingRequest.status).in_(PENDING),
        )
        .order_by(col(SharingRequest.received_at))
    )
    return list(rows)


async def steps(session: AsyncSession, request_id: str) -> list[RequestStep]:
    rows = await session.scalars(
        select(RequestStep)
        .where(col(RequestStep.request_id) == request_id)
        .order_by(col(RequestStep.at), col(RequestStep.id))
    )
    return list(rows)


async def notices(session: AsyncSession, request_id: str) -> list[EscalationNotice]:
    rows = await session.scalars(
        select(EscalationNotice)
        .where(col(EscalationNotice.request_id) == request_id)
        .order_by(col(EscalationNotice.notified_at))
    )
    return list(rows)


async def outcomes(session: AsyncSession, request_id: str) -> list[RequestOutcome]:
    rows = await session.scalars(
        select(RequestOutcome)
        .where(col(RequestOutcome.request_id) == request_id)
        .order_by(col(RequestOutcome.recorded_at))
    )
    return list(rows)


async def lapsed_approvals(session: AsyncSession, *, before: datetime) -> list[SharingRequest]:
    rows = await session.scalars(
        select(SharingRequest)
        .where(
            col(SharingRequest.status) == "approved",
            col(SharingRequest.decided_at) < before,
        )
        .order_by(col(SharingRequest.decided_at))
    )
    return list(rows)


# --- packages -----------------------------------------------------------------------------------


async def list_packages(
    session: AsyncSession,
    *,
    agency_id: str | None,
    request_id: str | None,
    page: PageParams,
) -> Paged[ReleasePackage]:
    stmt = select(ReleasePackage)
    if agency_id is not None:
        stmt = stmt.where(col(ReleasePackage.agency_id) == agency_id)
    if request_id is not None:
        stmt = stmt.where(col(ReleasePackage.request_id) == request_id)
    return await _page(
        session,
        stmt,
        [col(ReleasePackage.created_at).desc(), col(ReleasePackage.id)],
        page=page,
    )


async def live_packages(
    session: AsyncSession,
    *,
    agency_id: str | None = None,
    request_id: str | None = None,
    now: datetime,
) -> list[ReleasePackage]:
    stmt = select(ReleasePackage).where(
        col(ReleasePackage.revoked_at).is_(None),
        col(ReleasePackage.expires_at) > now,
    )
    if agency_id is not None:
        stmt = stmt.where(col(ReleasePackage.agency_id) == agency_id)
    if request_id is not None:
        stmt = stmt.where(col(ReleasePackage.request_id) == request_id)
    return list(await session.scalars(stmt.order_by(col(ReleasePackage.created_at))))


# --- misuse -------------------------------------------------------------------------------------


async def list_misuse_reports(
    session: AsyncSession,
    *,
    agency_id: str | None,
    status: str | None,
    page: PageParams,
) -> Paged[MisuseReport]:
    stmt = select(MisuseReport)
    if agency_id is not None:
        stmt = stmt.where(col(MisuseReport.agency_id) == agency_id)
    if status is not None:
        stmt = stmt.where(col(MisuseReport.status) == status)
    return await _page(
        session,
        stmt,
        [col(MisuseReport.reported_at).desc(), col(MisuseReport.id)],
        page=page,
    )


async def request_counts_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(col(SharingRequest.status), func.count()).group_by(col(SharingRequest.status))
    )
    return {status: int(n) for status, n in rows}
