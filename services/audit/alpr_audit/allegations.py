"""344.4(a)7: alleged misuse of ALPR operations, data or software, recorded (by anyone with
access, or from a non-compliant finding of the random audit), assigned, linked to its GO 902
administrative investigation, and closed with a finding and any access consequence.

Steps: open -> assigned (an investigator from Risk Management) -> GO 902 case linked -> closed
with a finding. A finding needs the GO 902 case: the policy sends every allegation there."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import repository
from alpr_audit.errors import AllegationConflict, AllegationNotFound
from alpr_audit.models import MisuseAllegation, ReviewItem
from alpr_audit.review_schemas import (
    AllegationAssignment,
    AllegationCaseLink,
    AllegationCreate,
    AllegationFindingCreate,
    AllegationQuarterSummary,
    AllegationQuery,
    AllegationRead,
    CountRead,
)
from alpr_audit.schemas import Page
from alpr_common.auth import Principal
from alpr_common.db import utcnow


def allegation_read(allegation: MisuseAllegation) -> AllegationRead:
    return AllegationRead.model_validate(allegation, from_attributes=True)


async def report(
    session: AsyncSession, *, actor: Principal, data: AllegationCreate
) -> AllegationRead:
    """Record an allegation of misuse (344.4(a)7); anyone with access may report one."""
    now = utcnow()
    allegation = MisuseAllegation(
        id=uuid.uuid4().hex,
        source="report",
        summary=data.summary,
        alleged_subject=data.alleged_subject,
        log_seq=data.log_seq,
        reported_at=now,
        reported_by=actor.subject,
        status="open",
        updated_at=now,
    )
    session.add(allegation)
    await session.flush()
    return allegation_read(allegation)


async def open_from_review(
    session: AsyncSession, *, actor: Principal, item: ReviewItem
) -> MisuseAllegation:
    """The allegation a non-compliant random-audit finding opens (one per item)."""
    existing = await repository.allegation_for_item(session, item.id)
    if existing is not None:
        return existing
    now = utcnow()
    allegation = MisuseAllegation(
        id=uuid.uuid4().hex,
        source="random_audit",
        review_item_id=item.id,
        summary=f"Random audit (GO 344.6(a)): non-compliant {item.kind}: {item.finding_reason}",
        alleged_subject=item.actor,
        log_seq=item.log_seq,
        reported_at=now,
        reported_by=actor.subject,
        status="open",
        updated_at=now,
    )
    session.add(allegation)
    await session.flush()
    return allegation


async def _load(session: AsyncSession, allegation_id: str, *, for_update: bool) -> MisuseAllegation:
    allegation = await repository.get_allegation(session, allegation_id, for_update=for_update)
    if allegation is None:
        raise AllegationNotFound(f"no misuse allegation {allegation_id}")
    return allegation


async def get(session: AsyncSession, *, allegation_id: str) -> AllegationRead:
    return allegation_read(await _load(session, allegation_id, for_update=False))


async def list_allegations(
    session: AsyncSession, *, query: AllegationQuery
) -> Page[AllegationRead]:
    page = query.page_params()
    rows, more, total = await repository.list_allegations(
        session, status=query.status, source=query.source, page=page
    )
    return page.answer([allegation_read(a) for a in rows], more, total)


def _open(allegation: MisuseAllegation) -> None:
    if allegation.status == "closed":
        raise AllegationConflict(f"allegation {allegation.id} is closed with its finding")


async def assign(
    session: AsyncSession, *, actor: Principal, allegation_id: str, data: AllegationAssignment
) -> AllegationRead:
    """Assign the allegation to whoever investigates it; never to the person it is about."""
    allegation = await _load(session, allegation_id, for_update=True)
    if allegation.assignee == data.assignee:
        return allegation_read(allegation)
    _open(allegation)
    if data.assignee == allegation.alleged_subject:
        raise AllegationConflict(f"{data.assignee} is the subject of the allegation")
    now = utcnow()
    allegation.assignee, allegation.assigned_at = data.assignee, now
    allegation.status = "assigned"
    allegation.updated_at = now
    await session.flush()
    return allegation_read(allegation)


async def link_case(
    session: AsyncSession, *, actor: Principal, allegation_id: str, data: AllegationCaseLink
) -> AllegationRead:
    """Link the GO 902 administrative investigation that handles the allegation."""
    allegation = await _load(session, allegation_id, for_update=True)
    if allegation.go902_case == data.go902_case:
        return allegation_read(allegation)
    _open(allegation)
    allegation.go902_case = data.go902_case
    allegation.updated_at = utcnow()
    await session.flush()
    return allegation_read(allegation)


async def record_finding(
    session: AsyncSession, *, actor: Principal, allegation_id: str, data: AllegationFindingCreate
) -> AllegationRead:
    """Close the allegation with the GO 902 finding and any consequence for the person's access."""
    allegation = await _load(session, allegation_id, for_update=True)
    if allegation.status == "closed":
        if (allegation.finding, allegation.access_consequence) == (
            data.finding,
            data.access_consequence,
        ):
            return allegation_read(allegation)
        _open(allegation)
    if allegation.go902_case is None:
        raise AllegationConflict("link the GO 902 investigation's case number before its finding")
    if allegation.assignee is None:
        raise AllegationConflict("assign the allegation before recording its finding")
    if actor.subject == allegation.alleged_subject:
        raise AllegationConflict(f"{actor.subject} is the subject of the allegation")
    now = utcnow()
    allegation.finding = data.finding
    allegation.finding_notes = data.notes
    allegation.access_consequence = data.access_consequence
    allegation.status = "closed"
    allegation.closed_at, allegation.closed_by = now, actor.subject
    allegation.updated_at = now
    await session.flush()
    return allegation_read(allegation)


def _counts(values: list[str | None]) -> list[CountRead]:
    counted = Counter(v for v in values if v is not None)
    return [CountRead(key=k, count=n) for k, n in sorted(counted.items())]


async def quarter_summary(
    session: AsyncSession, *, start: datetime, end: datetime
) -> AllegationQuarterSummary:
    """344.4(a)7 for the report: allegations reported in [start, end) and where they stand."""
    rows = await repository.allegations_reported_in(session, start=start, end=end)
    return AllegationQuarterSummary(
        start=start,
        end=end,
        reported=len(rows),
        from_random_audit=sum(1 for a in rows if a.source == "random_audit"),
        open=sum(1 for a in rows if a.status == "open"),
        assigned=sum(1 for a in rows if a.status == "assigned"),
        closed=sum(1 for a in rows if a.status == "closed"),
        linked_to_go902=sum(1 for a in rows if a.go902_case is not None),
        by_finding=_counts([a.finding for a in rows]),
        by_access_consequence=_counts([a.access_consequence for a in rows]),
    )
