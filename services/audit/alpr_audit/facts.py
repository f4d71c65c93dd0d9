"""The facts of the quarterly report (344.6(b)), kept from the events every service sends.

The intake (intake.py) hands each newly logged event here, once per event id. Each kind of event
updates audit's own fact tables (models.py), so the report never reads another service's data and
a purge of raw reads in ingest changes no past quarter. No plate number is kept here.

An event whose data does not match its kernel contract changes no fact: the log keeps it with its
problem. Facts never refuse an event either: a database error here rolls back the facts of the
batch (logged), never the log entries."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import repository
from alpr_common.contracts import hotlist as hl
from alpr_common.contracts import ingest as ig
from alpr_common.contracts import sharing as sh
from alpr_common.events import Event

log = logging.getLogger("alpr.audit.facts")

M = TypeVar("M", bound=BaseModel)

# Why an alert did not correlate (344.6(b)2): the first such step recorded on it.
DISMISSED_NOT_CORRELATED = frozenset({"misread", "not_correlated"})
# Daily counters the transparency page shows beside the scan counts.
QUERIES = "queries"
EXPORTS = "exports"
SHARES = "shares"
_COUNTED = {ig.SEARCH: QUERIES, ig.EXPORT: EXPORTS, sh.PACKAGE_RELEASED: SHARES}
RETENTION_SETTING = "ingest.retention_days"


def clip(value: str | None, n: int) -> str:
    """A value for a text column of `n` characters ("" for unknown)."""
    return (value or "")[:n]


def clip_or_none(value: str | None, n: int) -> str | None:
    return value[:n] if value is not None else None


def parse_time(value: str | None, fallback: datetime) -> datetime:
    if not value:
        return fallback
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return fallback
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def event_time(event: Event) -> datetime:
    t = event.time if event.time.tzinfo is not None else event.time.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def _parse(model: type[M], data: dict[str, Any]) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None  # the log entry carries the problem (intake.py)


# ----------------------------------------------------------------------------- per event type


@dataclass
class _Batch:
    """The facts of one intake batch, written in a few statements at its end."""

    scans: Counter[tuple[date, str, str, str, str]] = field(default_factory=Counter)
    daily: Counter[tuple[date, str]] = field(default_factory=Counter)
    alert_events: list[tuple[str, Any, datetime]] = field(default_factory=list)
    once: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


async def _scan_counts(session: AsyncSession, event: Event, batch: _Batch) -> None:
    data = _parse(ig.ScanCountsData, event.data)
    if data is None:
        return
    for c in data.counts:
        try:
            day = date.fromisoformat(c.day)
        except ValueError:
            continue
        key = (
            day,
            clip(c.camera_id, 128),
            clip(c.camera_type, 32),
            clip(c.zip_code, 16),
            clip(c.sector, 64),
        )
        batch.scans[key] += c.reads


def _alert_row(data: hl.AlertData, matched_at: datetime) -> dict[str, Any]:
    return {
        "alert_id": clip(data.alert_id, 64),
        "hotlist_id": clip(data.hotlist_id, 64),
        "hotlist_name": clip(data.hotlist_name, 200),
        "entry_type": clip(data.entry_type, 32),
        "entry_origin": clip(data.entry_origin, 16),
        "manual_reason": clip_or_none(data.manual_reason, 64),
        "entered_by_role": clip(data.entered_by_role, 64),
        "missing_endangered": data.missing_endangered,
        "camera_id": clip(data.camera_id, 128),
        "camera_type": clip(data.camera_type, 32),
        "zip_code": clip(data.zip_code, 16),
        "sector": clip(data.sector, 64),
        "matched_at": matched_at,
    }


async def _alert_created(session: AsyncSession, event: Event, batch: _Batch) -> None:
    data = _parse(hl.AlertData, event.data)
    if data is not None:
        batch.alert_events.append((data.alert_id[:64], data, event_time(event)))


def _step_changes(data: hl.AlertStepData, at: datetime, row: dict[str, Any]) -> dict[str, Any]:
    """What a workflow step changes in the alert's facts (344.6(b)2, 3, 11-13)."""
    changes: dict[str, Any] = {}

    def not_correlated(why: str) -> None:
        if row["not_correlated_at"] is None:
            changes.update(not_correlated_at=at, not_correlated_why=why, confirmed_at=None)

    if data.step == "visual_confirmation" and data.matches is not None:
        changes["visual_matches"] = data.matches
        if not data.matches:
            not_correlated("visual_mismatch")
    elif data.step == "ncic_tcic_confirmation" and data.still_valid is not None:
        changes["ncic_valid"] = data.still_valid
        if not data.still_valid:
            not_correlated("ncic_no_longer_valid")
    elif data.step == "second_officer_verification" and data.matches is False:
        not_correlated("second_officer_mismatch")
    elif data.step == "dismissed" and data.reason in DISMISSED_NOT_CORRELATED:
        not_correlated(f"dismissed_{data.reason}")
    elif data.step == "enforcement_action":
        changes["enforcement_action"] = clip_or_none(data.action, 32)
    elif isinstance(data, hl.AlertOutcomeData):
        changes.update(
            outcome=clip(data.outcome, 32),
            outcome_at=at,
            enforcement_action=clip_or_none(data.enforcement_action, 32)
            or row["enforcement_action"],
            detention=data.detention,
            offense=clip(data.offense, 200),
            driver_race=clip_or_none(data.driver_race, 64),
            driver_gender=clip_or_none(data.driver_gender, 32),
            victim_race=clip_or_none(data.victim_race, 64),
            victim_gender=clip_or_none(data.victim_gender, 32),
        )
        if data.outcome == "wrong_vehicle":
            not_correlated("wrong_vehicle")
    merged = {**row, **changes}
    # A confirmed match: the plate seen matches the read and NCIC/TCIC still holds the record
    # (344.3.2(b)1-2), and nothing later showed it did not correlate.
    if (
        merged["confirmed_at"] is None
        and merged["not_correlated_at"] is None
        and merged["visual_matches"]
        and merged["ncic_valid"]
    ):
        changes["confirmed_at"] = at
    return changes


async def _alert_step(session: AsyncSession, event: Event, batch: _Batch) -> None:
    model = hl.AlertOutcomeData if event.type == hl.ALERT_OUTCOME else hl.AlertStepData
    data = _parse(model, event.data)
    if data is not None:
        batch.alert_events.append(
            (data.alert_id[:64], data, parse_time(data.at, event_time(event)))
        )


_ALERT_STATE = (
    "visual_matches", "ncic_valid", "confirmed_at", "not_correlated_at", "not_correlated_why",
    "enforcement_action", "detention", "outcome", "outcome_at", "offense", "driver_race",
    "driver_gender", "victim_race", "victim_gender",
)  # fmt: skip


async def _write_alerts(session: AsyncSession, batch: _Batch) -> None:
    """Apply the batch's alert events, in time order, to the alerts' rows: loaded once, written
    once. A step may arrive before its alert's creation (another relay batch): the step's facts
    make the row, and the creation later only moves its match time earlier."""
    if not batch.alert_events:
        return
    ids = sorted({alert_id for alert_id, _, _ in batch.alert_events})
    stored = await repository.alerts_by_id(session, ids)
    rows = {k: dict(v) for k, v in stored.items()}
    for alert_id, data, at in sorted(batch.alert_events, key=lambda e: e[2]):
        row = rows.get(alert_id)
        if row is None:
            row = rows[alert_id] = {**dict.fromkeys(_ALERT_STATE), **_alert_row(data, at)}
        elif at < row["matched_at"] and not isinstance(data, hl.AlertStepData):
            row["matched_at"] = at
        if isinstance(data, hl.AlertStepData):
            row.update(_step_changes(data, at, row))
    await repository.insert_alerts(session, [r for k, r in rows.items() if k not in stored])
    changed = [r for k, r in rows.items() if k in stored and r != dict(stored[k])]
    await repository.update_alerts(session, changed)


async def _entry_created(session: AsyncSession, event: Event, batch: _Batch) -> None:
    data = _parse(hl.EntryData, event.data)
    if data is None or data.origin != "manual":
        return
    batch.once["manual_entry"].append(
        {
            "entry_id": data.entry_id,
            "hotlist_id": clip(data.hotlist_id, 64),
            "entry_type": clip_or_none(data.entry_type, 32),
            "manual_reason": clip(data.manual_reason or "unspecified", 64),
            "entered_by_role": clip(data.entered_by_role, 64),
            "entered_at": event_time(event),
        },
    )


async def _incident(session: AsyncSession, event: Event, batch: _Batch) -> None:
    data = _parse(hl.WrongVehicleIncidentData, event.data)
    if data is None:
        return
    batch.once["incident"].append(
        {
            "incident_id": clip(data.incident_id, 64),
            "alert_id": clip(data.alert_id, 64),
            "hotlist_name": clip(data.hotlist_name, 200),
            "cause": clip(data.cause, 32),
            "resulted_in_investigation": data.resulted_in_investigation,
            "late": data.late,
            "enforcement_action": clip_or_none(data.enforcement_action, 32),
            "data_gathered": data.data_gathered,
            "camera_type": clip(data.camera_type, 32),
            "zip_code": clip(data.zip_code, 16),
            "sector": clip(data.sector, 64),
            "reported_at": parse_time(data.reported_at, event_time(event)),
        },
    )


_SHARING_STEPS: dict[str, tuple[str, type[sh.RequestStepData]]] = {
    sh.REQUEST_RECEIVED: ("received", sh.RequestReceivedData),
    sh.REQUEST_DECIDED: ("decided", sh.RequestDecidedData),
    sh.PACKAGE_RELEASED: ("released", sh.PackageReleasedData),
    sh.OUTCOME_RECORDED: ("outcome", sh.OutcomeRecordedData),
}


async def _sharing_step(session: AsyncSession, event: Event, batch: _Batch) -> None:
    step, model = _SHARING_STEPS[event.type]
    data = _parse(model, event.data)
    if data is None:
        return
    agency = data.agency_name or data.agency_id or ""
    batch.once["sharing"].append(
        {
            "event_id": event.id[:64],
            "step": step,
            "request_id": clip(data.request_id, 64),
            "kind": clip(data.kind, 32),
            "requester_type": clip(data.requester_type, 32),
            "agency": clip(agency, 200),
            "decision": clip_or_none(getattr(data, "decision", None), 32),
            "outcome": clip_or_none(getattr(data, "outcome", None), 32),
            "at": event_time(event),
        },
    )


async def _hold_created(session: AsyncSession, event: Event, batch: _Batch) -> None:
    data = _parse(ig.HoldCreatedData, event.data)
    if data is None:
        return
    batch.once["hold"].append(
        {
            "hold_id": clip(data.hold_id, 64),
            "category": clip(data.category, 64),
            "read_count": data.read_count,
            "created_at": event_time(event),
        },
    )


async def _camera(session: AsyncSession, event: Event, batch: _Batch) -> None:
    at = event_time(event)
    if event.type in (ig.CAMERA_REGISTERED, ig.CAMERA_RETIRED):
        snap = _parse(ig.CameraSnapshotData, event.data)
        if snap is None:
            return
        status = "retired" if event.type == ig.CAMERA_RETIRED else snap.status
        await repository.put_camera(
            session,
            {
                "camera_id": clip(snap.camera_id, 128),
                "camera_type": clip(snap.camera_type, 32),
                "status": clip(status, 32),
                "zip_code": clip(snap.zip_code, 16),
                "sector": clip(snap.sector, 64),
                "updated_at": at,
            },
        )
    elif event.type == ig.CAMERA_STATUS_CHANGED:
        changed = _parse(ig.CameraStatusChangedData, event.data)
        if changed is not None:
            await repository.update_camera(
                session,
                changed.camera_id[:128],
                {"status": clip(changed.to_status, 32), "updated_at": at},
            )
    else:
        updated = _parse(ig.CameraUpdatedData, event.data)
        if updated is None:
            return
        changes = {
            k: clip(v if isinstance(v, str) else None, 16 if k == "zip_code" else 64)
            for k, v in updated.changes.items()
            if k in ("zip_code", "sector")
        }
        if changes:
            await repository.update_camera(
                session, updated.camera_id[:128], {**changes, "updated_at": at}
            )


async def _hotlist(session: AsyncSession, event: Event, batch: _Batch) -> None:
    data = _parse(hl.ListData, event.data)
    if data is not None:
        await repository.put_hotlist(
            session,
            {
                "hotlist_id": clip(data.hotlist_id, 64),
                "name": clip(data.name, 200),
                "source": clip(data.source, 32),
                "status": clip(data.status, 32),
                "updated_at": event_time(event),
            },
        )


async def _purge(session: AsyncSession, event: Event, batch: _Batch) -> None:
    """344.6(b)8: a changed retention period is a privacy-relevant change, logged on its own."""
    data = _parse(ig.PurgeData, event.data)
    if data is not None:
        await record_setting(
            session,
            key=RETENTION_SETTING,
            value=str(data.retention_days),
            at=event_time(event),
            event_id=event.id,
            title="Retention period of ALPR reads changed",
            summary=(
                "ingest's purge now keeps reads for {new} days (it kept them for {old} days "
                "before); reported by the purge run of {at} (344.4(d))."
            ),
        )


async def record_setting(
    session: AsyncSession,
    *,
    key: str,
    value: str,
    at: datetime,
    event_id: str,
    title: str,
    summary: str,
) -> None:
    """Keep the last reported value of a setting; a change from a known value is logged as an
    automatic policy change (344.6(b)8). The first value seen is the baseline."""
    old = await repository.get_setting(session, key)
    await repository.put_setting(session, key=key, value=value[:200], at=at)
    if old is None or old == value:
        return
    await repository.add_policy_change(
        session,
        {
            "id": event_id.replace("-", "")[:32],
            "origin": "automatic",
            "recorded_at": at,
            "recorded_by": "system:audit",
            "recorded_by_name": "audit (reported setting)",
            "effective_on": at.date(),
            "title": title,
            "summary": summary.format(new=value, old=old, at=at.isoformat()),
            "reference": None,
            "setting": key,
            "old_value": old[:200],
            "new_value": value[:200],
        },
    )


_SCAN_KEYS = ("day", "camera_id", "camera_type", "zip_code", "sector")

_HANDLERS: dict[str, Callable[[AsyncSession, Event, _Batch], Awaitable[None]]] = {
    ig.SCAN_COUNTS: _scan_counts,
    ig.HOLD_CREATED: _hold_created,
    ig.CAMERA_REGISTERED: _camera,
    ig.CAMERA_RETIRED: _camera,
    ig.CAMERA_UPDATED: _camera,
    ig.CAMERA_STATUS_CHANGED: _camera,
    ig.PURGE: _purge,
    hl.LIST_CREATED: _hotlist,
    hl.LIST_UPDATED: _hotlist,
    hl.LIST_RETIRED: _hotlist,
    hl.ALERT_CREATED: _alert_created,
    hl.ENTRY_CREATED: _entry_created,
    hl.WRONG_VEHICLE_INCIDENT: _incident,
    **{t: _alert_step for t in hl.ALERT_STEP_TYPES},
    **{t: _sharing_step for t in _SHARING_STEPS},
}


async def apply(session: AsyncSession, *, events: Sequence[Event]) -> None:
    """Update the facts from newly logged events (each event id comes here once)."""
    relevant = [e for e in events if e.type in _HANDLERS or e.type in _COUNTED]
    if not relevant:
        return
    batch = _Batch()
    try:
        async with session.begin_nested():
            for event in relevant:
                if not isinstance(event.data, dict):
                    continue
                if event.type in _COUNTED:
                    batch.daily[(event_time(event).date(), _COUNTED[event.type])] += 1
                if event.type in _HANDLERS:
                    await _HANDLERS[event.type](session, event, batch)
            await repository.add_scan_counts(
                session,
                [
                    dict(zip(_SCAN_KEYS, key, strict=True), reads=n)
                    for key, n in sorted(batch.scans.items())
                ],
            )
            await repository.add_daily_counts(
                session,
                [{"day": d, "metric": m, "n": n} for (d, m), n in sorted(batch.daily.items())],
            )
            await _write_alerts(session, batch)
            for table, rows in batch.once.items():
                await repository.add_once(session, table, rows)
    # asyncpg's own errors too: the counters go to PostgreSQL as one raw statement.
    except (SQLAlchemyError, asyncpg.PostgresError, ValueError, OverflowError):
        # The log entries stand; these facts are lost to the report and the error says which.
        log.exception(
            "report facts not recorded for a batch",
            extra={"event_ids": [e.id for e in relevant][:20]},
        )
