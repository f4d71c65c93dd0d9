"""Requests for ALPR data from outside the department (344.5): taking them in (the rules of each
kind are in kinds.py), and the states a request goes through.

    received → under_review → approved → fulfilled
        ↘ escalated (344.5(d)) ↗      ↘ denied / withdrawn / expired

Kinds: `agency_data` (another law-enforcement agency, 344.5(a)-(b)), `public_information`
(Texas Gov. Code ch. 552 through the records unit, 344.5(c)), `legal_disclosure` (court order,
subpoena, discovery, 344.5(c)) and `preservation` (a governmental entity or a defendant asks that
reads be kept, 344.6(b)4; fulfilled by a hold at ingest, nothing is released).
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

from fastapi import FastAPI
from prometheus_client.core import Metric
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts import sharing as contract
from alpr_common.db import utcnow
from alpr_common.metrics import gauge
from alpr_common.pagination import PageParams
from alpr_common.purpose import check_purpose
from alpr_common.roles import Role
from alpr_sharing import agencies, clients, escalation, events, kinds
from alpr_sharing import repository as repo
from alpr_sharing.auth import agency_scope
from alpr_sharing.deps import Upstream
from alpr_sharing.errors import (
    InvalidRequest,
    InvalidTransition,
    PolicyRefused,
    RequestNotFound,
)
from alpr_sharing.models import Agency, RequestOutcome, RequestStep, SharingRequest
from alpr_sharing.schemas import (
    DEFAULT_FIELDS,
    Decision,
    OutcomeCreate,
    OutcomeRead,
    Page,
    RequestCreate,
    RequestDetail,
    RequestRead,
    Review,
    Withdrawal,
)

DECIDABLE = ("received", "under_review", "escalated")
WITHDRAWABLE = ("received", "under_review", "escalated", "approved")


async def _step(
    session: AsyncSession, request: SharingRequest, actor: Principal, note: str | None = None
) -> None:
    session.add(
        RequestStep(
            # Time-ordered ids: two steps of one instant (received, escalated) keep their order.
            id=f"{time.time_ns():016x}{uuid.uuid4().hex[:16]}",
            request_id=request.id,
            status=request.status,
            at=request.updated_at,
            by=actor.subject,
            by_name=actor.name,
            note=note,
        )
    )


# --- submit -------------------------------------------------------------------------------------


async def _repeat(session: AsyncSession, actor: Principal, first: SharingRequest) -> RequestRead:
    """A repeat of a client_reference: the first request, which the caller must still see."""
    await load_for(session, actor=actor, request_id=first.id)
    return RequestRead.model_validate(first)


async def submit(
    session: AsyncSession, *, up: Upstream, actor: Principal, data: RequestCreate
) -> tuple[RequestRead, bool]:
    """Take a request in, refusing what the policy forbids; escalate it at once when it is
    broader than a specific case. Returns the request and whether it is new (a repeat of the
    same client_reference returns the first one)."""
    if data.client_reference is not None:
        existing = await repo.request_by_reference(session, actor.subject, data.client_reference)
        if existing is not None:
            return await _repeat(session, actor, existing), False
    now = utcnow()
    agency = await kinds.requesting_agency(session, actor=actor, data=data)
    if agency is not None:
        agencies.require_active(agency)
    # 344.4(a): the purpose is screened as at the gateway (immigration status, reproductive
    # health, revenue and personal use refused, each naming its clause).
    check_purpose(data.purpose, data.case_number, data.reason)
    kinds.check_window(up.settings.max_window_days, data, now)
    plates = kinds.plates(data.plates)
    if data.kind == "agency_data":
        grounds, plates = await kinds.agency_data_rules(
            up=up, data=data, agency=agency, plates=plates
        )
    elif data.kind == "legal_disclosure":
        grounds = kinds.legal_rules(data)
    elif data.kind == "public_information":
        grounds = kinds.public_rules(data)
    else:
        grounds = kinds.preservation_rules(data, now)
    requester_type = kinds.requester_type(data, agency)
    requester_name = data.requester_name or (agency.name if agency is not None else actor.name)
    request = SharingRequest(
        id=uuid.uuid4().hex,
        kind=data.kind,
        status="received",
        agency_id=agency.id if agency is not None else None,
        requester_type=requester_type,
        requester_name=requester_name,
        requester_contact=data.requester_contact,
        client_reference=data.client_reference,
        submitted_by=actor.subject,
        submitted_by_name=actor.name,
        purpose=data.purpose.strip().lower(),
        case_number=data.case_number,
        reason=data.reason,
        grounds=grounds,
        hotlist_entry_id=data.hotlist_entry_id,
        offense=data.offense,
        investigator=data.investigator,
        document_ref=data.document_ref,
        issuing_court=data.issuing_court,
        ordered_scope=data.ordered_scope,
        plates=plates,
        camera_ids=sorted(set(data.camera_ids)),
        area=data.area,
        standing=data.standing,
        since=data.since,
        until=data.until,
        fields=list(dict.fromkeys(data.fields or DEFAULT_FIELDS)),
        deadline=data.deadline,
        received_at=now,
        updated_at=now,
    )
    twin = await repo.add_request(session, request)
    if twin is not None:
        # The same reference submitted at the same instant: the retry gets the first, as above.
        return await _repeat(session, actor, twin), False
    await _step(session, request, actor)
    why = escalation.reasons(
        up.settings,
        plates=plates,
        camera_ids=request.camera_ids,
        area=data.area,
        standing=data.standing,
        window_days=kinds.window_days(data.since, data.until),
    )
    await events.emit(
        session,
        contract.REQUEST_RECEIVED,
        actor=actor,
        data=contract.RequestReceivedData(
            **events.step(request, agency),
            grounds=grounds,
            plate_count=len(plates),
            window_days=round(kinds.window_days(data.since, data.until), 3),
            escalation_needed=bool(why),
            purpose=request.purpose,
        ),
    )
    if why:
        # 344.5(d): broader than a specific case: to the Chief at once.
        await escalation.escalate(
            session, actor=actor, request=request, agency=agency, why=why, now=now
        )
        await _step(session, request, actor, note=", ".join(why))
    await session.flush()
    return RequestRead.model_validate(request), True


# --- reading ------------------------------------------------------------------------------------


async def load_for(session: AsyncSession, *, actor: Principal, request_id: str) -> SharingRequest:
    """The request, if the caller may see it: another agency's request is 404, not 403, so an
    agency never learns that it exists."""
    request = await session.get(SharingRequest, request_id)
    scope = agency_scope(actor)
    if request is None or (scope is not None and request.agency_id != scope):
        raise RequestNotFound(f"no sharing request {request_id!r}")
    return request


async def agency_of(session: AsyncSession, request: SharingRequest) -> Agency | None:
    return await agencies.load(session, request.agency_id) if request.agency_id else None


async def detail(session: AsyncSession, request: SharingRequest) -> RequestDetail:
    base = RequestRead.model_validate(request).model_dump()
    return RequestDetail.model_validate(
        {
            **base,
            "steps": await repo.steps(session, request.id),
            "notices": await repo.notices(session, request.id),
            "outcomes": await repo.outcomes(session, request.id),
            "notices_missing": (
                await escalation.missing(session, request) if request.escalated else []
            ),
        },
        from_attributes=True,
    )


async def get(session: AsyncSession, *, actor: Principal, request_id: str) -> RequestDetail:
    return await detail(session, await load_for(session, actor=actor, request_id=request_id))


async def list_requests(
    session: AsyncSession,
    *,
    actor: Principal,
    status: str | None,
    kind: str | None,
    escalated: bool | None,
    page: PageParams,
) -> Page[RequestRead]:
    rows, more, total = await repo.list_requests(
        session,
        agency_id=agency_scope(actor),
        status=status,
        kind=kind,
        escalated=escalated,
        page=page,
    )
    return page.answer([RequestRead.model_validate(r) for r in rows], more, total)


# --- transitions --------------------------------------------------------------------------------


def _move(request: SharingRequest, allowed: tuple[str, ...], to: str) -> datetime:
    if request.status not in allowed:
        raise InvalidTransition(
            f"request {request.id!r} is {request.status}; it cannot become {to} "
            f"(only from {', '.join(allowed)})"
        )
    now = utcnow()
    request.status = to
    request.updated_at = now
    return now


async def _agency_active(session: AsyncSession, request: SharingRequest) -> Agency | None:
    agency = await agency_of(session, request)
    if agency is not None:
        agencies.require_active(agency)
    return agency


async def review(
    session: AsyncSession, *, actor: Principal, request_id: str, data: Review
) -> RequestDetail:
    request = await load_for(session, actor=actor, request_id=request_id)
    await _agency_active(session, request)
    _move(request, ("received",), "under_review")
    await _step(session, request, actor, data.note)
    await session.flush()
    return await detail(session, request)


async def decide(
    session: AsyncSession, *, up: Upstream, actor: Principal, request_id: str, data: Decision
) -> RequestDetail:
    request = await load_for(session, actor=actor, request_id=request_id)
    agency = await agency_of(session, request)
    if data.decision == "denied":
        # Denial with a reason is always possible (344.5(d) included).
        if not data.reason or len(data.reason) < 10:
            raise InvalidRequest("a denial gives its reason (at least 10 characters)")
        await _finish(
            session,
            actor=actor,
            request=request,
            agency=agency,
            decision="denied",
            reason=data.reason,
            allowed=(*DECIDABLE, "approved"),
        )
        return await detail(session, request)
    if agency is not None:
        agencies.require_active(agency)
    if request.status not in DECIDABLE:
        raise InvalidTransition(
            f"request {request.id!r} is {request.status}; it cannot be approved"
        )
    if request.escalated:
        # 344.5(d): the Chief decides, after the three notices.
        if Role.CHIEF_OF_POLICE not in actor.roles:
            raise PolicyRefused(
                "344.5(d)",
                "this request is broader than a specific case: only the Chief of Police "
                "approves it",
            )
        await escalation.require_notices(session, request, utcnow())
    await _finish(
        session,
        actor=actor,
        request=request,
        agency=agency,
        decision="approved",
        reason=data.reason,
        allowed=DECIDABLE,
    )
    if request.kind == "preservation":
        await _preserve(session, up=up, actor=actor, request=request)
    return await detail(session, request)


async def _finish(
    session: AsyncSession,
    *,
    actor: Principal,
    request: SharingRequest,
    agency: Agency | None,
    decision: contract.Decision,
    reason: str | None,
    allowed: tuple[str, ...],
) -> None:
    now = _move(request, allowed, decision)
    request.decided_at = now
    request.decided_by = actor.subject
    request.decided_by_name = actor.name
    request.decision_reason = reason
    await _step(session, request, actor, reason)
    await session.flush()
    await events.emit(
        session,
        contract.REQUEST_DECIDED,
        actor=actor,
        data=contract.RequestDecidedData(
            **events.step(request, agency),
            decision=decision,
            reason=reason,
            escalated=request.escalated,
        ),
    )


async def refuse(
    session: AsyncSession, *, actor: Principal, request: SharingRequest, agency: Agency, reason: str
) -> None:
    """Deny a pending request without a person's review (a suspension, 344.4(b))."""
    await _finish(
        session,
        actor=actor,
        request=request,
        agency=agency,
        decision="denied",
        reason=reason,
        allowed=repo.PENDING,
    )


async def _preserve(
    session: AsyncSession, *, up: Upstream, actor: Principal, request: SharingRequest
) -> None:
    """344.6(b)4: a preservation request is fulfilled by a hold at ingest, with the requester
    on it and its deadline as the retention date (one hold per request, so a retry is safe)."""
    assert request.deadline is not None and request.case_number is not None
    hold = await clients.preservation_hold(
        up,
        {
            "request_id": request.id,
            "case_number": request.case_number,
            "requester": request.requester_name,
            "requester_type": "defendant"
            if request.requester_type == "defendant"
            else "governmental",
            "deadline": request.deadline.isoformat(),
            "reason": request.reason,
            "plates": request.plates,
            "camera_ids": request.camera_ids,
            "since": request.since.isoformat(),
            "until": request.until.isoformat(),
        },
    )
    request.hold_id = str(hold["id"])
    request.status = "fulfilled"
    request.updated_at = utcnow()
    await _step(session, request, actor, f"hold {request.hold_id} placed at ingest")
    await session.flush()


SYSTEM = Principal(
    subject="service:sharing",
    kind="machine",
    name="sharing (approval expiry)",
    roles=frozenset({Role.SERVICE.value}),
)


async def expire_lapsed(
    session: AsyncSession, *, approval_days: int, now: datetime | None = None
) -> list[str]:
    """Approvals not fulfilled within `approval_days` lapse: the request becomes expired and a
    new request is needed (run daily: `python -m alpr_sharing expire`)."""
    before = (now or utcnow()) - timedelta(days=approval_days)
    expired = []
    for request in await repo.lapsed_approvals(session, before=before):
        await _finish(
            session,
            actor=SYSTEM,
            request=request,
            agency=await agency_of(session, request),
            decision="expired",
            reason=f"approved but not fulfilled within {approval_days} days",
            allowed=("approved",),
        )
        expired.append(request.id)
    return expired


async def withdraw(
    session: AsyncSession, *, actor: Principal, request_id: str, data: Withdrawal
) -> RequestDetail:
    request = await load_for(session, actor=actor, request_id=request_id)
    agency = await agency_of(session, request)
    await _finish(
        session,
        actor=actor,
        request=request,
        agency=agency,
        decision="withdrawn",
        reason=data.reason,
        allowed=WITHDRAWABLE,
    )
    return await detail(session, request)


async def mark_fulfilled(
    session: AsyncSession, *, actor: Principal, request: SharingRequest, note: str
) -> None:
    _move(request, ("approved", "fulfilled"), "fulfilled")
    await _step(session, request, actor, note)


async def record_outcome(
    session: AsyncSession, *, actor: Principal, request_id: str, data: OutcomeCreate
) -> OutcomeRead:
    """344.6(b)6: whether the shared data led to an arrest, a prosecution, or the location of a
    missing or endangered person."""
    request = await load_for(session, actor=actor, request_id=request_id)
    if request.status != "fulfilled":
        raise InvalidTransition(
            f"request {request.id!r} is {request.status}; outcomes are recorded for fulfilled "
            "requests"
        )
    agency = await agency_of(session, request)
    outcome = RequestOutcome(
        id=uuid.uuid4().hex,
        request_id=request.id,
        outcome=data.outcome,
        details=data.details,
        recorded_at=utcnow(),
        recorded_by=actor.subject,
        recorded_by_name=actor.name,
    )
    session.add(outcome)
    await session.flush()
    await events.emit(
        session,
        contract.OUTCOME_RECORDED,
        actor=actor,
        data=contract.OutcomeRecordedData(**events.step(request, agency), outcome=data.outcome),
    )
    return OutcomeRead.model_validate(outcome)


async def request_metrics(app: FastAPI) -> list[Metric]:
    """Metrics probe (344.5): sharing requests by state (received, under_review, escalated,
    approved, fulfilled, denied, withdrawn, expired)."""
    async with app.state.db.read_sessionmaker() as session:
        counts = await repo.request_counts_by_status(session)
    return [
        gauge(
            "alpr_sharing_requests",
            "Sharing requests by state.",
            [({"state": state}, n) for state, n in sorted(counts.items())],
        )
    ]
