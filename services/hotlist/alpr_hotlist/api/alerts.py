"""Alerts: listing, the live RTCC stream, and the verification workflow of 344.3.2.

Reading alerts reads ALPR data (a plate, a place, a time), so those routes require the purpose
headers; the workflow steps answer with the alert's state only, never its plate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import StreamingResponse

from alpr_common.db import SessionDep
from alpr_common.purpose import PurposeDep
from alpr_hotlist.alerts import workflow
from alpr_hotlist.alerts.stream import alert_events
from alpr_hotlist.auth import AlertReader, FieldOfficer, RtccOperator, StreamReader
from alpr_hotlist.deps import AlertIdPath, SettingsDep, errors
from alpr_hotlist.errors import (
    AlertNotFound,
    SecondOfficerRefused,
    VerificationIncomplete,
    WaiverRefused,
    WorkflowConflict,
)
from alpr_hotlist.schemas import (
    Acknowledgement,
    AlertDetail,
    AlertQuery,
    AlertRead,
    Dismissal,
    EnforcementActionCreate,
    ExigencyWaiver,
    NcicConfirmation,
    OutcomeCreate,
    Page,
    RtccActionCreate,
    SecondVerification,
    StepResultRead,
    VisualConfirmation,
)

router = APIRouter(prefix="/v1", tags=["alerts"])

_STEP_ERRORS = errors(AlertNotFound, WorkflowConflict)


@router.get("/alerts", response_model=Page[AlertRead], responses=errors())
async def list_alerts(
    session: SessionDep,
    _reader: AlertReader,
    _purpose: PurposeDep,
    query: Annotated[AlertQuery, Query()],
) -> Page[AlertRead]:
    """Alerts matching the filters, newest first (by stream position with `after_seq`)."""
    return await workflow.list_alerts(session, query=query)


@router.get(
    "/alerts/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-sent events: `event: alert`, `id:` the stream position",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **errors(),
    },
)
async def stream_alerts(
    request: Request,
    _reader: StreamReader,
    _purpose: PurposeDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        int | None,
        Header(alias="Last-Event-ID", ge=0, le=2**63 - 1, description="Resume after this id"),
    ] = None,
    after: Annotated[
        int | None,
        Query(ge=0, le=2**63 - 1, description="Resume after this id (clients without headers)"),
    ] = None,
) -> StreamingResponse:
    """Live alerts for the RTCC (344.3.2(a)), resumable with Last-Event-ID; heartbeats."""
    resume = last_event_id if last_event_id is not None else after
    body = alert_events(
        db=request.app.state.db,
        broadcaster=request.app.state.broadcaster,
        last_event_id=resume,
        heartbeat_seconds=settings.stream_heartbeat_seconds,
        poll_seconds=settings.stream_poll_seconds,
    )
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/alerts/{alert_id}", response_model=AlertDetail, responses=errors(AlertNotFound))
async def get_alert(
    session: SessionDep, _reader: AlertReader, _purpose: PurposeDep, alert_id: AlertIdPath
) -> AlertDetail:
    """One alert with its reads, every workflow step and the steps still missing."""
    return await workflow.get_alert(session, alert_id=alert_id)


@router.post(
    "/alerts/{alert_id}/acknowledgements",
    status_code=201,
    response_model=StepResultRead,
    responses=_STEP_ERRORS,
)
async def acknowledge_alert(
    session: SessionDep, principal: RtccOperator, alert_id: AlertIdPath, body: Acknowledgement
) -> StepResultRead:
    """RTCC acknowledges the alert (344.3.2(a))."""
    return await workflow.acknowledge(session, alert_id=alert_id, principal=principal, body=body)


@router.post(
    "/alerts/{alert_id}/rtcc-actions",
    status_code=201,
    response_model=StepResultRead,
    responses=_STEP_ERRORS,
)
async def record_rtcc_action(
    session: SessionDep, principal: RtccOperator, alert_id: AlertIdPath, body: RtccActionCreate
) -> StepResultRead:
    """RTCC records what it did: dispatched, broadcast (GB) or patrol notified (344.3.2(a)1)."""
    return await workflow.record_rtcc_action(
        session, alert_id=alert_id, principal=principal, body=body
    )


@router.post(
    "/alerts/{alert_id}/dismissals",
    status_code=201,
    response_model=StepResultRead,
    responses=_STEP_ERRORS,
)
async def dismiss_alert(
    session: SessionDep, principal: RtccOperator, alert_id: AlertIdPath, body: Dismissal
) -> StepResultRead:
    """RTCC dismisses the alert with a reason: misread, not correlated, duplicate, expired."""
    return await workflow.dismiss(session, alert_id=alert_id, principal=principal, body=body)


_VISUAL_EXAMPLES = {
    "match": {
        "summary": "The officer sees the plate and the vehicle match the alert",
        "value": {"matches": True, "note": "plate and white pickup match the alert"},
    },
    "no match": {
        "summary": "The plate was misread: the alert goes no further",
        "value": {"matches": False, "note": "plate reads ABC1284, not ABC1234"},
    },
}


@router.post(
    "/alerts/{alert_id}/visual-confirmations",
    status_code=201,
    response_model=StepResultRead,
    responses=_STEP_ERRORS,
)
async def confirm_visually(
    session: SessionDep,
    principal: FieldOfficer,
    alert_id: AlertIdPath,
    body: Annotated[VisualConfirmation, Body(openapi_examples=_VISUAL_EXAMPLES)],
) -> StepResultRead:
    """The officer's visual confirmation that the plate matches the read (344.3.2(b)1)."""
    return await workflow.confirm_visually(
        session, alert_id=alert_id, principal=principal, body=body
    )


@router.post(
    "/alerts/{alert_id}/ncic-confirmations",
    status_code=201,
    response_model=StepResultRead,
    responses=_STEP_ERRORS,
)
async def confirm_ncic(
    session: SessionDep, principal: FieldOfficer, alert_id: AlertIdPath, body: NcicConfirmation
) -> StepResultRead:
    """The NCIC/TCIC confirmation that the record is still valid, with its reference."""
    return await workflow.confirm_ncic(session, alert_id=alert_id, principal=principal, body=body)


@router.post(
    "/alerts/{alert_id}/second-officer-verifications",
    status_code=201,
    response_model=StepResultRead,
    responses=errors(AlertNotFound, WorkflowConflict, SecondOfficerRefused),
)
async def verify_second_officer(
    session: SessionDep, principal: FieldOfficer, alert_id: AlertIdPath, body: SecondVerification
) -> StepResultRead:
    """A second, different officer verifies the plate matches the hit (344.3.2(b)3)."""
    return await workflow.verify_second_officer(
        session, alert_id=alert_id, principal=principal, body=body
    )


@router.post(
    "/alerts/{alert_id}/exigency-waivers",
    status_code=201,
    response_model=StepResultRead,
    responses=errors(AlertNotFound, WorkflowConflict, WaiverRefused),
)
async def waive_second_officer(
    session: SessionDep, principal: FieldOfficer, alert_id: AlertIdPath, body: ExigencyWaiver
) -> StepResultRead:
    """Exigent circumstances waive the second officer, never for an investigator's follow-up."""
    return await workflow.waive_second_officer(
        session, alert_id=alert_id, principal=principal, body=body
    )


@router.post(
    "/alerts/{alert_id}/enforcement-actions",
    status_code=201,
    response_model=StepResultRead,
    responses=errors(AlertNotFound, WorkflowConflict, VerificationIncomplete),
)
async def record_enforcement(
    session: SessionDep,
    principal: FieldOfficer,
    alert_id: AlertIdPath,
    body: EnforcementActionCreate,
) -> StepResultRead:
    """Record a stop or detention; refused, naming the step, until 344.3.2(b) is complete."""
    return await workflow.record_enforcement(
        session, alert_id=alert_id, principal=principal, body=body
    )


@router.post(
    "/alerts/{alert_id}/outcomes",
    status_code=201,
    response_model=StepResultRead,
    responses=_STEP_ERRORS,
)
async def record_outcome(
    session: SessionDep,
    principal: FieldOfficer,
    settings: SettingsDep,
    alert_id: AlertIdPath,
    body: OutcomeCreate,
) -> StepResultRead:
    """Record the outcome with the audit facts of 344.6(b)11-13 (driver, victim, offense)."""
    return await workflow.record_outcome(
        session, alert_id=alert_id, principal=principal, body=body, settings=settings
    )
