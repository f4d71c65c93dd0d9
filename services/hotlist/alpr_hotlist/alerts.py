"""Reads become alerts, and alerts go through the verification workflow of 344.3.2.

Matching: each read is looked up in the replica's index (exact and OCR-confusable); a hit is
recorded once per (read, entry) and joins the alert of its entry and camera within the alert
window, or opens a new one. Alert creation runs under the `alert` counter's lock, so replicas
neither duplicate an alert nor number two alike, and the stream sees alerts in order.

Workflow: RTCC acknowledges, then records an action (dispatched, broadcast, patrol notified)
or dismisses with a reason (344.3.2(a)). In the field, an enforcement action needs a visual
confirmation, an NCIC/TCIC confirmation and a second, different officer's verification, which
only exigent circumstances can waive and never for an investigator's follow-up (344.3.2(b)).
The outcome records the audit facts of 344.6(b)3 and 11-13. Every step is attributed,
timestamped and sent to audit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.db import utcnow
from alpr_common.errors import Unprocessable
from alpr_hotlist import repository
from alpr_hotlist.auditing import emit
from alpr_hotlist.errors import (
    AlertNotFound,
    SecondOfficerRefused,
    VerificationIncomplete,
    WaiverRefused,
    WorkflowConflict,
)
from alpr_hotlist.incidents import shift_end_after
from alpr_hotlist.matching import Match, PlateIndex, normalise_plate
from alpr_hotlist.models import Alert, AlertHit, AlertStep, Hotlist
from alpr_hotlist.repository import ALERT_COUNTER
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
from alpr_hotlist.stream import alert_payload

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("alpr.hotlist.alerts")


# ---------------------------------------------------------------------------- matching


_NO_NUL = r"^[^\x00]*$"
PLATE_MAX_CHARS = 16


class IncomingRead(BaseModel):
    """A read as ingest sends it (`ingest.reads`, and the back-match answer)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, str_max_length=128)

    read_id: str = Field(min_length=1, max_length=64, pattern=_NO_NUL)
    plate: str = Field(min_length=1, max_length=PLATE_MAX_CHARS, pattern=_NO_NUL)
    region: str | None = Field(None, max_length=16, pattern=_NO_NUL)
    captured_at: AwareDatetime
    camera_id: str = Field(min_length=1, max_length=128, pattern=_NO_NUL)
    camera_type: str | None = Field(None, max_length=16, pattern=_NO_NUL)
    zip_code: str | None = Field(None, max_length=16, pattern=_NO_NUL)
    sector: str | None = Field(None, max_length=64, pattern=_NO_NUL)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    confidence: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _position(cls, value: Any) -> Any:
        # Ingest's back-match answers with its read schema: `position: {lat, lon}`.
        if isinstance(value, dict) and isinstance(value.get("position"), dict):
            position = value["position"]
            value = {"lat": position.get("lat"), "lon": position.get("lon"), **value}
        return value

    @field_validator("captured_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # A capture time the window arithmetic cannot overflow on; nothing real is outside it.
        if not 1970 <= value.year <= 9000:
            raise ValueError("capture time out of range")
        return value.astimezone(UTC)


_READ = TypeAdapter(IncomingRead)


def parse_reads(raw: Sequence[Any]) -> list[IncomingRead]:
    reads = []
    bad = 0
    for item in raw:
        try:
            reads.append(_READ.validate_python(item))
        except ValidationError:
            bad += 1
    if bad:
        # Counts only: the rejected values may be plates.
        log.warning("reads skipped as malformed", extra={"skipped": bad, "total": len(raw)})
    return reads


@dataclass(frozen=True)
class _Hit:
    read: IncomingRead
    match: Match


def _passes_key_probe(plate: Any, could_match: Callable[[str], bool]) -> bool:
    """Whether a plate value may match an entry: text of a plate's length that the index's key
    probe does not rule out. Nearly every read is settled here, before any validation."""
    if not isinstance(plate, str) or not 0 < len(plate) <= PLATE_MAX_CHARS:
        return False
    try:
        return could_match(plate)
    except (ValueError, UnicodeError):
        return False


def _candidates(raw_reads: Sequence[Any], index: PlateIndex, now: datetime) -> list[Any]:
    """The reads whose plate matches an entry at `now`, found before any validation: most
    reads miss, and a lookup costs less than validating one. An entry that matches at a later
    instant matches now too, so this never drops a read the full check would keep."""
    if not len(index):
        return []
    could_match = index.could_match
    lookup = index.lookup
    found = []
    for item in raw_reads:
        if not isinstance(item, dict) or not _passes_key_probe(item.get("plate"), could_match):
            continue
        region = item.get("region")
        try:
            if lookup(item["plate"], region if isinstance(region, str) else None, now):
                found.append(item)
        except (ValueError, UnicodeError):
            continue
    return found


def could_match_rows(columns: Any, index: PlateIndex) -> list[int] | None:
    """The positions, in an event's columnar body, of the reads whose plate may match an entry:
    the plate column settles the rest before any record is built (most reads miss). None when
    there is no plate column to probe."""
    plates = columns.get("plate") if isinstance(columns, dict) else None
    if not isinstance(plates, list):
        return None
    if not len(index):
        return []
    could_match = index.could_match
    return [i for i, plate in enumerate(plates) if _passes_key_probe(plate, could_match)]


async def match_reads(
    session: AsyncSession,
    app: FastAPI,
    raw_reads: Sequence[Any],
    *,
    origin: str = "live",
    only_entries: set[int] | None = None,
    index: PlateIndex | None = None,
) -> int:
    """Match reads against the index; record hits and alerts. Returns the hits recorded.
    `index`: the current index, when the caller has just fetched it."""
    if not raw_reads:
        return 0
    if index is None:
        index = await app.state.index_keeper.current(session)
    now = utcnow()
    reads = parse_reads(_candidates(raw_reads, index, now))
    found: list[_Hit] = []
    for read in reads:
        # An entry stops matching at its expiry instant: a read is matched as of now, or as of
        # its capture when a camera clock runs ahead.
        at = read.captured_at if read.captured_at > now else now
        for match in index.lookup(read.plate, read.region, at):
            if only_entries is None or match.entry_id in only_entries:
                found.append(_Hit(read, match))
    if not found:
        return 0
    return await _record_hits(session, app, found, origin=origin)


async def _record_hits(
    session: AsyncSession, app: FastAPI, found: list[_Hit], *, origin: str
) -> int:
    settings: HotlistSettings = app.state.settings
    window = timedelta(seconds=settings.alert_window_seconds)
    await repository.lock_counter(session, ALERT_COUNTER)
    entries = await repository.get_entries(session, {h.match.entry_id for h in found})
    lists: dict[str, Hotlist] = {}
    now = utcnow()
    created: list[Alert] = []
    joined: list[tuple[Alert, _Hit]] = []
    for hit in found:
        read, match = hit.read, hit.match
        entry = entries.get(match.entry_id)
        if entry is None or entry.status != "active":
            continue
        if await repository.hit_exists(session, read.read_id, match.entry_id):
            continue
        confusions = [c._asdict() for c in match.confusions]
        alert = await repository.open_alert(
            session,
            entry_id=match.entry_id,
            camera_id=read.camera_id,
            captured_at=read.captured_at,
            window=window,
        )
        if alert is None:
            if entry.hotlist_id not in lists:
                hotlist = await repository.get_hotlist(session, entry.hotlist_id)
                assert hotlist is not None
                lists[entry.hotlist_id] = hotlist
            alert = Alert(
                id=uuid.uuid4().hex,
                seq=await repository.bump_counter(session, ALERT_COUNTER),
                entry_id=match.entry_id,
                hotlist_id=entry.hotlist_id,
                hotlist_name=lists[entry.hotlist_id].name,
                entry_plate=entry.plate,
                entry_region=entry.region,
                entry_type=entry.entry_type or entry.category,
                entry_source=entry.source,
                entry_origin=entry.origin,
                entry_record_id=entry.record_id,
                entry_reason=entry.reason,
                offense_class=entry.offense_class,
                missing_endangered=entry.missing_endangered,
                manual_reason=entry.manual_reason,
                entered_by_role=entry.entered_by_role,
                plate=read.plate,
                region=read.region,
                match_type=match.match_type,
                confusions=confusions,
                camera_id=read.camera_id,
                camera_type=read.camera_type,
                zip_code=read.zip_code,
                sector=read.sector,
                lat=read.lat,
                lon=read.lon,
                confidence=read.confidence,
                first_read_id=read.read_id,
                first_read_at=read.captured_at,
                last_read_at=read.captured_at,
                read_count=1,
                origin=origin,
                created_at=now,
                updated_at=now,
                # Given, not defaulted: SQLModel inspects a default factory's signature on
                # every construction, 40% of the cost of building an Alert.
                rtcc_actions=[],
            )
            session.add(alert)
            created.append(alert)
        else:
            alert.read_count += 1
            alert.first_read_at = min(alert.first_read_at, read.captured_at)
            alert.last_read_at = max(alert.last_read_at, read.captured_at)
            alert.updated_at = now
            joined.append((alert, hit))
        session.add(
            AlertHit(
                read_id=read.read_id,
                entry_id=match.entry_id,
                alert_id=alert.id,
                plate=read.plate,
                region=read.region,
                captured_at=read.captured_at,
                camera_id=read.camera_id,
                match_type=match.match_type,
                confusions=confusions,
                origin=origin,
                matched_at=now,
            )
        )
        # The next hit may join this alert: make it visible to open_alert's query.
        await session.flush()
    for alert in created:
        await emit(session, "alert_created", actor=None, data=_alert_facts(alert))
    for alert, hit in joined:
        await emit(
            session,
            "alert_read_added",
            actor=None,
            data={
                **_alert_facts(alert),
                "read_id": hit.read.read_id,
                "captured_at": hit.read.captured_at.isoformat(),
                "hit_match_type": hit.match.match_type,
            },
        )
    if created:
        app.state.broadcaster.publish_after_commit(session, [alert_payload(a) for a in created])
    return len(created) + len(joined)


def _alert_facts(alert: Alert) -> dict[str, Any]:
    """What audit counts alerts by (344.6(b)2, 3, 7, 9, 11-13)."""
    return {
        "alert_id": alert.id,
        "seq": alert.seq,
        "entry_id": alert.entry_id,
        "hotlist_id": alert.hotlist_id,
        "hotlist_name": alert.hotlist_name,
        "entry_type": alert.entry_type,
        "entry_source": alert.entry_source,
        "entry_origin": alert.entry_origin,
        "manual_reason": alert.manual_reason,
        "entered_by_role": alert.entered_by_role,
        "missing_endangered": alert.missing_endangered,
        "read_id": alert.first_read_id,
        "plate": alert.plate,
        "match_type": alert.match_type,
        "confusions": alert.confusions,
        "camera_id": alert.camera_id,
        "camera_type": alert.camera_type,
        "zip_code": alert.zip_code,
        "sector": alert.sector,
        "origin": alert.origin,
        "status": alert.status,
    }


# ---------------------------------------------------------------------------- reading


async def list_alerts(session: AsyncSession, *, query: AlertQuery) -> Page[AlertRead]:
    filters = query.model_dump(exclude={"page", "page_size"})
    if filters["plate"]:
        filters["plate"] = normalise_plate(filters["plate"])
    stmt = repository.alerts_stmt(**filters)
    rows, total = await repository.page(session, stmt, page=query.page, page_size=query.page_size)
    return Page[AlertRead](
        items=[AlertRead.model_validate(a, from_attributes=True) for a in rows],
        total=total,
        page=query.page,
        page_size=query.page_size,
    )


async def get_alert(session: AsyncSession, *, alert_id: str) -> AlertDetail:
    alert = await _load(session, alert_id, for_update=False)
    hits = await repository.hits_of(session, alert_id)
    steps = await repository.steps_of(session, alert_id)
    base = AlertRead.model_validate(alert, from_attributes=True).model_dump()
    return AlertDetail(
        **base,
        hits=[HitRead.model_validate(h, from_attributes=True) for h in hits],
        steps=[StepRead.model_validate(s, from_attributes=True) for s in steps],
        missing_steps=[name for name, _ in missing_steps(alert)],
    )


async def _load(session: AsyncSession, alert_id: str, *, for_update: bool = True) -> Alert:
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
            extra={"status": alert.status},
        )
    if alert.outcome is not None:
        raise WorkflowConflict(
            f"alert {alert.id} is closed with outcome {alert.outcome}; no further steps",
            extra={"status": alert.status},
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
            **_alert_facts(alert),
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
    alert = await _load(session, alert_id)
    _ensure_open(alert)
    if alert.status != "new":
        raise WorkflowConflict(
            f"alert {alert_id} is already acknowledged ({alert.status})",
            extra={"status": alert.status},
        )
    alert.status = "acknowledged"
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by = principal.subject
    return await _step(session, alert, principal, "acknowledged", {"note": body.note})


async def record_rtcc_action(
    session: AsyncSession, *, alert_id: str, principal: Principal, body: RtccActionCreate
) -> StepResultRead:
    alert = await _load(session, alert_id)
    _ensure_open(alert)
    if alert.status == "new":
        raise WorkflowConflict(
            "acknowledge the alert before recording what RTCC did (344.3.2(a))",
            extra={"status": alert.status, "missing_step": "acknowledged"},
        )
    alert.rtcc_actions = [*alert.rtcc_actions, body.action.value]
    alert.status = "actioned"
    return await _step(
        session, alert, principal, "actioned", {"action": body.action.value, "note": body.note}
    )


async def dismiss(
    session: AsyncSession, *, alert_id: str, principal: Principal, body: Dismissal
) -> StepResultRead:
    alert = await _load(session, alert_id)
    _ensure_open(alert)
    if alert.status == "new":
        raise WorkflowConflict(
            "acknowledge the alert before dismissing it (344.3.2(a))",
            extra={"status": alert.status, "missing_step": "acknowledged"},
        )
    if alert.enforcement_at is not None:
        raise WorkflowConflict(
            "an enforcement action is recorded on this alert: record its outcome instead",
            extra={"status": alert.status},
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
    alert = await _load(session, alert_id)
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
    alert = await _load(session, alert_id)
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
    alert = await _load(session, alert_id)
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
    alert = await _load(session, alert_id)
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
    alert = await _load(session, alert_id)
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
    alert = await _load(session, alert_id)
    _ensure_open(alert)
    if alert.enforcement_at is None:
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
