"""Alerts go through the verification workflow of 344.3.2, and are read with where they stand.

RTCC acknowledges, then records an action (dispatched, broadcast, patrol notified) or dismisses
with a reason (344.3.2(a)). In the field, an enforcement action needs a visual confirmation, an
NCIC/TCIC confirmation and a second, different officer's verification, which only exigent
circumstances can waive and never for an investigator's follow-up (344.3.2(b)). The outcome
records the audit facts of 344.6(b)3 and 11-13. Every step is attributed, timestamped and sent
to audit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from prometheus_client.core import Metric
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from alpr_common.auth import Principal
from alpr_common.db import utcnow
from alpr_common.errors import Unprocessable
from alpr_common.metrics import gauge
from alpr_common.pagination import keyset_page
from alpr_hotlist import repository
from alpr_hotlist.alerts.index import normalise_plate
from alpr_hotlist.alerts.matching import alert_facts
from alpr_hotlist.auditing import emit
from alpr_hotlist.errors import (
    AlertNotFound,
    SecondOfficerRefused,
    VerificationIncomplete,
    WaiverRefused,
    WorkflowConflict,
)
from alpr_hotlist.incidents import shift_end_after
from alpr_hotlist.models import Alert, AlertStep
from alpr_hotlist.schemas import (
    DETAINING_ACTIONS,
    Acknowledgement,
    AlertDetail,
    AlertQuery,
    AlertRead,
    Dismissal,
    EnforcementActionCreate,
    EnforcementKind,
    ExigencyWaiver,
    FieldStepBase,
    HitRead,
    NcicConfirmation,
    OutcomeCreate,
    OutcomeKind,
    Page,
    RtccActionCreate,
    SecondVerification,
    StepRead,
    StepResultRead,
    VisualConfirmation,
)
from alpr_hotlist.settings import HotlistSettings

# ---------------------------------------------------------------------------- reading


async def list_alerts(session: AsyncSession, *, query: AlertQuery) -> Page[AlertRead]:
    filters = query.model_dump(exclude={"limit", "cursor"})
    if filters["plate"]:
        filters["plate"] = normalise_plate(filters["plate"])
    stmt = repository.alerts_stmt(**filters)
    page = query.page_params()
    # Keyset on the stream position: newest first, or oldest first after `after_seq`.
    rows, more, total = await keyset_page(
        session, stmt, key=(col(Alert.seq),), page=page, descending=query.after_seq is None
    )
    return page.answer(
        [AlertRead.model_validate(a, from_attributes=True) for a in rows], more, total
    )


async def get_alert(session: AsyncSession, *, alert_id: str) -> AlertDetail:
    alert = await load_alert(session, alert_id, for_update=False)
    hits = await repository.hits_of(session, alert_id)
    steps = await repository.steps_of(session, alert_id)
    base = AlertRead.model_validate(alert, from_attributes=True).model_dump()
    return AlertDetail(
        **base,
        hits=[HitRead.model_validate(h, from_attributes=True) for h in hits],
        steps=[StepRead.model_validate(s, from_attributes=True) for s in steps],
        missing_steps=[name for name, _ in missing_steps(alert)],
    )


async def load_alert(session: AsyncSession, alert_id: str, *, for_update: bool = True) -> Alert:
    alert = await repository.get_alert(session, alert_id, for_update=for_update)
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id}")
    return alert


# ---------------------------------------------------------------------------- workflow


VISUAL = "visual_confirmation"
NCIC = "ncic_tcic_confirmation"
SECOND = "second_officer_verification"


def missing_steps(alert: Alert) -> list[tuple[str, str]]:
    """The 344.3.2(b) steps an enforcement action still lacks, each with why."""
    missing: list[tuple[str, str]] = []
    if alert.visual_confirmed_at is None:
        missing.append(
            (
                VISUAL,
                "no visual confirmation that the plate matches the read and the alert is "
                "recorded (344.3.2(b)1)",
            )
        )
    elif not alert.visual_matches:
        missing.append(
            (VISUAL, "the visual confirmation found the plate does not match (344.3.2(b)1)")
        )
    if alert.ncic_confirmed_at is None:
        missing.append((NCIC, "no NCIC/TCIC confirmation is recorded (344.3.2(b)2)"))
    elif not alert.ncic_still_valid:
        missing.append((NCIC, "NCIC/TCIC reports the record is no longer valid (344.3.2(b)2)"))
    verified = alert.second_verified_at is not None and bool(alert.second_matches)
    if alert.second_verified_at is not None and not alert.second_matches:
        missing.append(
            (SECOND, "the second officer found the plate does not match the hit (344.3.2(b)3)")
        )
    elif not verified:
        if alert.investigator_follow_up:
            missing.append(
                (
                    SECOND,
                    "an investigator's follow-up always needs a second officer's verification, "
                    "whatever the circumstances (344.3.2(b)3(a))",
                )
            )
        elif alert.exigency_waived_at is None:
            missing.append(
                (
                    SECOND,
                    "no verification by a second officer, and no exigent-circumstances waiver, "
                    "is recorded (344.3.2(b)3)",
                )
            )
    return missing


def _ensure_open(alert: Alert) -> None:
    if alert.status == "dismissed":
        raise WorkflowConflict(
            f"alert {alert.id} was dismissed ({alert.dismissal_reason}); no further steps",
            extra={"alert_status": alert.status},
        )
    if alert.outcome is not None:
        raise WorkflowConflict(
            f"alert {alert.id} is closed with outcome {alert.outcome}; no further steps",
            extra={"alert_status": alert.status},
        )


async def _step(
    session: AsyncSession,
    alert: Alert,
    principal: Principal,
    step: str,
    data: dict[str, Any],
    *,
    incident_due_at: datetime | None = None,
) -> StepResultRead:
    now = utcnow()
    record = AlertStep(
        id=uuid.uuid4().hex,
        alert_id=alert.id,
        step=step,
        at=now,
        actor=principal.subject,
        actor_name=principal.name,
        actor_roles=sorted(principal.roles),
        data=data,
    )
    session.add(record)
    alert.updated_at = now
    await session.flush()
    await emit(
        session,
        f"alert_{step}",
        actor=principal,
        data={
            **alert_facts(alert),
            "step": step,
            "step_id": record.id,
            "at": now.isoformat(),
            **data,
        },
    )
    return StepResultRead(
        alert_id=alert.id,
        step=step,
        step_id=record.id,
        at=now,
        status=alert.status,
        missing_steps=[name for name, _ in missing_steps(alert)],
        incident_due_at=incident_due_at,
    )


def _follow_up(alert: Alert, body: FieldStepBase) -> None:
    # Once any step says the alert is an investigator's follow-up, it stays one.
    if body.investigator_follow_up:
        alert.investigator_follow_up = True


async def acknowledge(
    session: AsyncSession, *, alert_id: str, principal: Principal, body: Acknowledgement
) -> StepResultRead:
    alert = await load_alert(session, alert_id)
    _ensure_open(alert)
    if alert.status != "new":
        raise WorkflowConflict(
            f"alert {alert_id} is already acknowledged ({alert.status})",
            extra={"alert_status": alert.status},
        )
    alert.status = "acknowledged"
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by = principal.subject
    return await _step(session, alert, principal, "acknowledged", {"note": body.note})


async def record_rtcc_action(
    session: AsyncSession, *, alert_id: str, principal: Principal, body: RtccActionCreate
) -> StepResultRead:
    alert = await load_alert(session, alert_id)
    _ensure_open(alert)
    if alert.status == "new":
        raise WorkflowConflict(
            "acknowledge the alert before recording what RTCC did (344.3.2(a))",
            extra={"alert_status": alert.status, "missing_step": "acknowledged"},
        )
    alert.rtcc_actions = [*alert.rtcc_actions, body.action.value]
    alert.status = "actioned"
    return await _step(
        session, alert, principal, "actioned", {"action": body.action.value, "note": body.note}
    )


async def dismiss(
    session: AsyncSession, *, alert_id: str, principal: Principal, body: Dismissal
) -> StepResultRead:
    alert = await load_alert(session, alert_id)
    _ensure_open(alert)
    if alert.status == "new":
        raise WorkflowConflict(
            "acknowledge the alert before dismissing it (344.3.2(a))",
            extra={"alert_status": alert.status, "missing_step": "acknowledged"},
        )
    if alert.enforcement_at is not None:
        raise WorkflowConflict(
            "an enforcement action is recorded on this alert: record its outcome instead",
            extra={"alert_status": alert.status},
        )
    alert.status = "dismissed"
    alert.dismissed_at = utcnow()
    alert.dismissed_by = principal.subject
    alert.dismissal_reason = body.reason.value
    return await _step(
        session, alert, principal, "dismissed", {"reason": body.reason.value, "note": body.note}
    )


async def confirm_visually(
    session: AsyncSession, *, alert_id: str, principal: Principal, body: VisualConfirmation
) -> StepResultRead:
    alert = await load_alert(session, alert_id)
    _ensure_open(alert)
    if alert.visual_confirmed_at is not None:
        raise WorkflowConflict("the visual confirmation is already recorded on this alert")
    _follow_up(alert, body)
    alert.visual_confirmed_at = utcnow()
    alert.visual_confirmed_by = principal.subject
    alert.visual_matches = body.matches
    return await _step(
        session,
        alert,
        principal,
        "visual_confirmation",
        {
            "matches": body.matches,
            "note": body.note,
            "investigator_follow_up": body.investigator_follow_up,
        },
    )


async def confirm_ncic(
    session: AsyncSession, *, alert_id: str, principal: Principal, body: NcicConfirmation
) -> StepResultRead:
    alert = await load_alert(session, alert_id)
    _ensure_open(alert)
    if alert.ncic_confirmed_at is not None:
        raise WorkflowConflict("the NCIC/TCIC confirmation is already recorded on this alert")
    _follow_up(alert, body)
    alert.ncic_confirmed_at = utcnow()
    alert.ncic_confirmed_by = principal.subject
    alert.ncic_still_valid = body.still_valid
    alert.ncic_reference = body.reference
    return await _step(
        session,
        alert,
        principal,
        "ncic_tcic_confirmation",
        {
            "system": body.system,
            "still_valid": body.still_valid,
            "reference": body.reference,
            "note": body.note,
            "investigator_follow_up": body.investigator_follow_up,
        },
    )


async def verify_second_officer(
    session: AsyncSession, *, alert_id: str, principal: Principal, body: SecondVerification
) -> StepResultRead:
    alert = await load_alert(session, alert_id)
    _ensure_open(alert)
    if alert.second_verified_at is not None:
        raise WorkflowConflict("the second officer's verification is already recorded")
    if alert.visual_confirmed_at is None:
        raise WorkflowConflict(
            "the second officer verifies the first officer's visual confirmation: record the "
            "visual confirmation first (344.3.2(b)1, 3)",
            extra={"clause": "344.3.2(b)", "missing_step": VISUAL},
        )
    if principal.subject == alert.visual_confirmed_by:
        raise SecondOfficerRefused(
            "the second verification must come from a different officer than the one who made "
            "the visual confirmation (344.3.2(b)3)",
            extra={"clause": "344.3.2(b)", "missing_step": SECOND},
        )
    _follow_up(alert, body)
    alert.second_verified_at = utcnow()
    alert.second_verified_by = principal.subject
    alert.second_matches = body.matches
    return await _step(
        session,
        alert,
        principal,
        "second_officer_verification",
        {
            "matches": body.matches,
            "first_officer": alert.visual_confirmed_by,
            "note": body.note,
            "investigator_follow_up": body.investigator_follow_up,
        },
    )


async def waive_second_officer(
    session: AsyncSession, *, alert_id: str, principal: Principal, body: ExigencyWaiver
) -> StepResultRead:
    alert = await load_alert(session, alert_id)
    _ensure_open(alert)
    if alert.investigator_follow_up or body.investigator_follow_up:
        raise WaiverRefused(
            "investigators conducting a follow-up investigation always use a second officer to "
            "verify the plate; exigent circumstances cannot waive it (344.3.2(b)3(a))",
            extra={"clause": "344.3.2(b)", "missing_step": SECOND},
        )
    if alert.second_verified_at is not None or alert.exigency_waived_at is not None:
        raise WorkflowConflict("a second officer's verification or a waiver is already recorded")
    alert.exigency_waived_at = utcnow()
    alert.exigency_waived_by = principal.subject
    return await _step(
        session,
        alert,
        principal,
        "exigency_waiver",
        {"justification": body.justification, "note": body.note},
    )


async def record_enforcement(
    session: AsyncSession, *, alert_id: str, principal: Principal, body: EnforcementActionCreate
) -> StepResultRead:
    alert = await load_alert(session, alert_id)
    _ensure_open(alert)
    if alert.enforcement_at is not None:
        raise WorkflowConflict("an enforcement action is already recorded on this alert")
    _follow_up(alert, body)
    missing = missing_steps(alert)
    if missing:
        names = [name for name, _ in missing]
        raise VerificationIncomplete(
            "enforcement action refused: an ALPR alert alone is no reasonable suspicion; "
            + "; ".join(f"{name} missing: {why}" for name, why in missing),
            extra={"clause": "344.3.2(b)", "missing_step": names[0], "missing_steps": names},
        )
    alert.enforcement_at = utcnow()
    alert.enforcement_by = principal.subject
    alert.enforcement_action = body.action.value
    return await _step(
        session,
        alert,
        principal,
        "enforcement_action",
        {
            "action": body.action.value,
            "risk_assessment": body.risk_assessment,
            "note": body.note,
            "second_officer_waived": alert.second_verified_at is None,
            "investigator_follow_up": alert.investigator_follow_up,
        },
    )


async def record_outcome(
    session: AsyncSession,
    *,
    alert_id: str,
    principal: Principal,
    body: OutcomeCreate,
    settings: HotlistSettings,
) -> StepResultRead:
    alert = await load_alert(session, alert_id)
    _ensure_open(alert)
    # The action and its time are recorded together; both are tested so the kind is typed.
    if alert.enforcement_at is None or alert.enforcement_action is None:
        raise WorkflowConflict(
            "an outcome follows an enforcement action: record the action first (344.3.2(b))",
            extra={"clause": "344.3.2(b)", "missing_step": "enforcement_action"},
        )
    detained = EnforcementKind(alert.enforcement_action) in DETAINING_ACTIONS
    if detained and (body.driver_race is None or body.driver_gender is None):
        raise Unprocessable(
            "a detention's outcome records the driver's race and gender (344.6(b)11); send "
            "driver_race and driver_gender (`unknown` when not determined)",
            extra={"clause": "344.6(b)11"},
        )
    now = utcnow()
    alert.outcome = body.outcome.value
    alert.outcome_at = now
    alert.outcome_by = principal.subject
    alert.offense = body.offense
    alert.driver_race = body.driver_race.value if body.driver_race else None
    alert.driver_gender = body.driver_gender.value if body.driver_gender else None
    alert.victim_race = body.victim_race.value
    alert.victim_gender = body.victim_gender.value
    alert.status = "closed"
    due = None
    if body.outcome is OutcomeKind.WRONG_VEHICLE:
        due = shift_end_after(settings, alert.enforcement_at)
    return await _step(
        session,
        alert,
        principal,
        "outcome",
        {
            "outcome": body.outcome.value,
            "enforcement_action": alert.enforcement_action,
            "detention": detained,
            "offense": body.offense,
            "driver_race": alert.driver_race,
            "driver_gender": alert.driver_gender,
            "victim_race": alert.victim_race,
            "victim_gender": alert.victim_gender,
            "note": body.note,
        },
        incident_due_at=due,
    )


async def alert_metrics(app: FastAPI) -> list[Metric]:
    """Metrics probe: alerts by where they stand in the workflow of 344.3.2."""
    async with app.state.db.read_sessionmaker() as session:
        counts = await repository.alert_counts_by_status(session)
    return [
        gauge(
            "alpr_hotlist_alerts",
            "Alerts by state (new, then the verification steps of 344.3.2 to an outcome).",
            [({"state": state}, n) for state, n in sorted(counts.items())],
        )
    ]
