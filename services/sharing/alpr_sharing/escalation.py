"""344.5(d): a request broader than a specific case goes to the Chief of Police at once, and
nothing is shared until the Office of Police Oversight, the Mayor and the Council have each been
told, their notices recorded (who, when, how, reference) before the approval."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts import sharing as contract
from alpr_common.db import utcnow
from alpr_sharing import events
from alpr_sharing import repository as repo
from alpr_sharing.errors import (
    InvalidRequest,
    InvalidTransition,
    NoticeAlreadyRecorded,
    PolicyRefused,
)
from alpr_sharing.models import Agency, ChiefNotification, EscalationNotice, SharingRequest
from alpr_sharing.schemas import NoticeCreate, NoticeRead
from alpr_sharing.settings import SharingSettings

NOTIFIED: tuple[contract.Notified, ...] = ("police_oversight", "mayor", "council")
NOTIFIED_NAMES = {
    "police_oversight": "the Office of Police Oversight",
    "mayor": "the Mayor",
    "council": "the Council",
}


def reasons(
    settings: SharingSettings,
    *,
    plates: list[str],
    camera_ids: list[str],
    area: str | None,
    standing: bool,
    window_days: float,
) -> list[str]:
    """Why a request is broader than a specific case (344.5(d)); empty when it is not."""
    found = []
    if not plates:
        found.append("no_plate")
    if len(plates) > settings.escalate_over_plates:
        found.append("too_many_plates")
    if window_days > settings.escalate_over_window_days:
        found.append("window_too_long")
    if camera_ids or area:
        found.append("area_or_camera_wide")
    if standing:
        found.append("bulk_or_standing_feed")
    return found


async def escalate(
    session: AsyncSession,
    *,
    actor: Principal,
    request: SharingRequest,
    agency: Agency | None,
    why: list[str],
    now: datetime,
) -> None:
    """Send the request to the Chief at once, with the record of the notification."""
    request.status = "escalated"
    request.escalated = True
    request.escalation_reasons = why
    request.escalated_at = now
    session.add(ChiefNotification(request_id=request.id, reasons=why, notified_at=now))
    await events.emit(
        session,
        contract.REQUEST_ESCALATED,
        actor=actor,
        data=contract.RequestEscalatedData(**events.step(request, agency), reasons=why),
    )


async def missing(session: AsyncSession, request: SharingRequest) -> list[contract.Notified]:
    recorded = {n.notified for n in await repo.notices(session, request.id)}
    return [n for n in NOTIFIED if n not in recorded]


async def require_notices(session: AsyncSession, request: SharingRequest, now: datetime) -> None:
    """344.5(d): refuse an approval until all three notices are recorded, and dated before it."""
    notices = await repo.notices(session, request.id)
    recorded = {n.notified for n in notices}
    lacking = [NOTIFIED_NAMES[n] for n in NOTIFIED if n not in recorded]
    if lacking:
        raise PolicyRefused(
            "344.5(d)",
            "this request is broader than a specific case: record the notices to "
            f"{', '.join(lacking)} before approving it",
        )
    late = [NOTIFIED_NAMES[n.notified] for n in notices if n.notified_at > now]
    if late:
        raise PolicyRefused(
            "344.5(d)",
            f"the notice to {', '.join(late)} is dated after this approval; the report must "
            "come before anything is shared",
        )


async def record_notice(
    session: AsyncSession,
    *,
    actor: Principal,
    request: SharingRequest,
    agency: Agency | None,
    data: NoticeCreate,
) -> NoticeRead:
    if request.status != "escalated":
        raise InvalidTransition(
            f"request {request.id!r} is {request.status}; notices are recorded for escalated "
            "requests before their approval"
        )
    now = utcnow()
    if data.notified_at > now:
        raise InvalidRequest("notified_at is in the future: record a notice once it is given")
    if request.escalated_at is not None and data.notified_at < request.escalated_at:
        raise InvalidRequest(
            "notified_at is before the request was escalated: the notice must be about this request"
        )
    if data.notified in {n.notified for n in await repo.notices(session, request.id)}:
        raise NoticeAlreadyRecorded(
            f"the notice to {NOTIFIED_NAMES[data.notified]} is already recorded for this request"
        )
    notice = EscalationNotice(
        id=uuid.uuid4().hex,
        request_id=request.id,
        notified=data.notified,
        recipient=data.recipient,
        notified_at=data.notified_at,
        method=data.method,
        reference=data.reference,
        recorded_at=now,
        recorded_by=actor.subject,
        recorded_by_name=actor.name,
    )
    session.add(notice)
    await session.flush()
    await events.emit(
        session,
        contract.NOTICE_RECORDED,
        actor=actor,
        data=contract.NoticeRecordedData(
            **events.step(request, agency),
            notified=data.notified,
            notified_at=data.notified_at.isoformat(),
            method=data.method,
            reference=data.reference,
        ),
    )
    return NoticeRead.model_validate(notice)
