"""344.4(b): anyone in the department may report that an outside agency used APD's ALPR data in
a prohibited way; the ATIU Lieutenant reviews and decides whether sharing continues. A
suspension refuses the agency's pending requests and revokes its live grants in the same
transaction, and every later request of that agency is refused until it is reinstated."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts import sharing as contract
from alpr_common.db import utcnow
from alpr_common.pagination import PageParams
from alpr_sharing import agencies, events, packages, requests
from alpr_sharing import repository as repo
from alpr_sharing.errors import InvalidTransition, MisuseReportNotFound
from alpr_sharing.models import AgencyStatusChange, MisuseReport
from alpr_sharing.schemas import (
    AgencyDecisionResult,
    AgencyRead,
    AgencyStatusChangeRead,
    AgencyStatusDecision,
    MisuseReportCreate,
    MisuseReportRead,
    Page,
)


async def report(
    session: AsyncSession, *, actor: Principal, data: MisuseReportCreate
) -> MisuseReportRead:
    agency = await agencies.load(session, data.agency_id)
    item = MisuseReport(
        id=uuid.uuid4().hex,
        agency_id=agency.id,
        description=data.description,
        status="open",
        reported_at=utcnow(),
        reported_by=actor.subject,
        reported_by_name=actor.name,
    )
    session.add(item)
    await session.flush()
    await events.emit(
        session,
        contract.MISUSE_REPORTED,
        actor=actor,
        data=contract.MisuseReportedData(
            report_id=item.id, agency_id=agency.id, agency_name=agency.name
        ),
    )
    return MisuseReportRead.model_validate(item)


async def load(session: AsyncSession, report_id: str) -> MisuseReport:
    item = await session.get(MisuseReport, report_id)
    if item is None:
        raise MisuseReportNotFound(f"no misuse report {report_id!r}")
    return item


async def get(session: AsyncSession, *, report_id: str) -> MisuseReportRead:
    return MisuseReportRead.model_validate(await load(session, report_id))


async def list_reports(
    session: AsyncSession, *, agency_id: str | None, status: str | None, page: PageParams
) -> Page[MisuseReportRead]:
    rows, more, total = await repo.list_misuse_reports(
        session, agency_id=agency_id, status=status, page=page
    )
    return page.answer([MisuseReportRead.model_validate(r) for r in rows], more, total)


_STATUS_AFTER = {"continue": None, "suspend": "suspended", "reinstate": "active"}


async def decide(
    session: AsyncSession, *, actor: Principal, agency_id: str, data: AgencyStatusDecision
) -> AgencyDecisionResult:
    """The ATIU Lieutenant's decision: continue, suspend or reinstate, with the reason."""
    agency = await agencies.load(session, agency_id)
    if data.decision == "suspend" and agency.status == "suspended":
        raise InvalidTransition(f"agency {agency.name!r} is already suspended")
    if data.decision == "reinstate" and agency.status == "active":
        raise InvalidTransition(f"agency {agency.name!r} is not suspended")
    if data.decision == "continue" and agency.status != "active":
        raise InvalidTransition(
            f"agency {agency.name!r} is suspended; reinstate it to continue sharing"
        )
    linked = None
    if data.misuse_report_id is not None:
        linked = await load(session, data.misuse_report_id)
        if linked.agency_id != agency.id:
            raise MisuseReportNotFound(
                f"misuse report {data.misuse_report_id!r} is not about agency {agency.id!r}"
            )
    now = utcnow()
    agency.status = _STATUS_AFTER[data.decision] or agency.status
    agency.updated_at = now
    agency.updated_by = actor.subject
    change = AgencyStatusChange(
        id=uuid.uuid4().hex,
        agency_id=agency.id,
        decision=data.decision,
        status=agency.status,
        reason=data.reason,
        misuse_report_id=data.misuse_report_id,
        decided_at=now,
        decided_by=actor.subject,
        decided_by_name=actor.name,
    )
    session.add(change)
    if linked is not None:
        linked.status = "decided"
        linked.decision = data.decision
        linked.decided_at = now
        linked.decided_by = actor.subject
    await session.flush()
    await events.emit(
        session,
        contract.AGENCY_STATUS_CHANGED,
        actor=actor,
        data=contract.AgencyStatusChangedData(
            agency_id=agency.id,
            agency_name=agency.name,
            decision=data.decision,
            status="suspended" if agency.status == "suspended" else "active",
            reason=data.reason,
            misuse_report_id=data.misuse_report_id,
        ),
    )
    refused: list[str] = []
    revoked: list[str] = []
    if data.decision == "suspend":
        # 344.4(b): a suspended agency gets nothing: its pending requests are refused and its
        # live grants revoked now, in this transaction.
        why = f"agency suspended by the ATIU Lieutenant (344.4(b)): {data.reason}"
        for pending in await repo.pending_requests(session, agency.id):
            await requests.refuse(session, actor=actor, request=pending, agency=agency, reason=why)
            refused.append(pending.id)
        revoked = await packages.revoke_live(session, actor=actor, agency=agency, reason=why)
    return AgencyDecisionResult(
        agency=AgencyRead.model_validate(agency),
        change=AgencyStatusChangeRead.model_validate(change),
        requests_refused=refused,
        grants_revoked=revoked,
    )
