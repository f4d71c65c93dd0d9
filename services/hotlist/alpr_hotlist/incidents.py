"""Wrong-vehicle incidents (344.4(g)) and the inbox that notifies supervisors and Risk Management.

An officer who acted on an alert against the wrong vehicle reports it before the end of the
shift: the shift end comes with the report or, failing that, from the agency's configured shift
changes after the action. Late reports are accepted and flagged. The supervisor (a named one, or
every supervisor) and Risk Management get an inbox message; audit gets the incident, which feeds
the quarterly audit (344.6(b)10)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.db import utcnow
from alpr_common.pagination import offset_page
from alpr_common.roles import Role
from alpr_hotlist import repository
from alpr_hotlist.auditing import emit
from alpr_hotlist.auth import INBOX_ROLES, INCIDENT_OVERSEERS
from alpr_hotlist.errors import (
    AlertNotFound,
    IncidentExists,
    IncidentNotFound,
    IncidentRefused,
    MessageNotFound,
)
from alpr_hotlist.models import InboxMessage, WrongVehicleIncident
from alpr_hotlist.schemas import (
    InboxMessageRead,
    InboxQuery,
    IncidentCreate,
    IncidentQuery,
    IncidentRead,
    Page,
)
from alpr_hotlist.settings import HotlistSettings


def shift_end_after(settings: HotlistSettings, instant: datetime) -> datetime:
    """The first configured shift change (agency local time) after `instant`."""
    zone = settings.zone
    local = instant.astimezone(zone)
    for day in range(3):
        date = (local + timedelta(days=day)).date()
        for end in settings.shift_ends:
            candidate = datetime.combine(date, end, zone)
            if candidate > local:
                return candidate.astimezone(UTC)
    raise AssertionError("no shift end within three days")  # shift_ends is never empty


def _read(incident: WrongVehicleIncident) -> IncidentRead:
    return IncidentRead.model_validate({**incident.model_dump(), "due_at": incident.shift_ends_at})


async def report(
    session: AsyncSession,
    *,
    settings: HotlistSettings,
    principal: Principal,
    body: IncidentCreate,
) -> IncidentRead:
    alert = await repository.get_alert(session, body.alert_id, for_update=True)
    if alert is None:
        raise AlertNotFound(f"no alert {body.alert_id}")
    if alert.enforcement_at is None:
        raise IncidentRefused(
            "no action is recorded on this alert: a wrong-vehicle report follows an enforcement "
            "action taken because of the alert (344.4(g))",
            extra={"clause": "344.4(g)"},
        )
    if await repository.incident_for_alert(session, alert.id) is not None:
        raise IncidentExists(f"a wrong-vehicle incident is already reported for alert {alert.id}")
    now = utcnow()
    if body.shift_ends_at is not None:
        if body.shift_ends_at <= alert.enforcement_at:
            raise IncidentRefused(
                "shift_ends_at is before the action was taken; send the end of the shift during "
                "which the action happened",
                extra={"clause": "344.4(g)"},
            )
        shift_end, source = body.shift_ends_at, "supplied"
    else:
        shift_end, source = shift_end_after(settings, alert.enforcement_at), "configured"
    late = now > shift_end
    incident = WrongVehicleIncident(
        id=uuid.uuid4().hex,
        alert_id=alert.id,
        cause=body.cause.value,
        description=body.description,
        data_gathered=body.data_gathered,
        resulted_in_investigation=body.resulted_in_investigation,
        action_at=alert.enforcement_at,
        shift_ends_at=shift_end,
        shift_end_source=source,
        reported_at=now,
        reported_by=principal.subject,
        reported_by_name=principal.name,
        late=late,
        supervisor=body.supervisor,
    )
    session.add(incident)
    title = (
        f"{'LATE ' if late else ''}wrong-vehicle incident ({body.cause.value}) on alert {alert.id}"
    )
    text = (
        f"{principal.name} ({principal.subject}) reports that action taken on alert {alert.id} "
        f"({alert.hotlist_name}, {alert.entry_type}) at {alert.enforcement_at.isoformat()} was "
        f"against the wrong vehicle. Cause: {body.cause.value}. Due by {shift_end.isoformat()}; "
        f"reported {now.isoformat()}{' (LATE)' if late else ''}. Incident {incident.id}. "
        "General Order 344.4(g): include in the next quarterly audit."
    )
    for role in INBOX_ROLES:
        session.add(
            InboxMessage(
                id=uuid.uuid4().hex,
                recipient_role=role.value,
                recipient_subject=body.supervisor if role is Role.SUPERVISOR else None,
                kind="wrong_vehicle_incident",
                title=title,
                body=text,
                incident_id=incident.id,
                alert_id=alert.id,
                late=late,
                created_at=now,
            )
        )
    await session.flush()
    await emit(
        session,
        "wrong_vehicle_incident",
        actor=principal,
        data={
            "incident_id": incident.id,
            "alert_id": alert.id,
            "hotlist_id": alert.hotlist_id,
            "hotlist_name": alert.hotlist_name,
            "entry_type": alert.entry_type,
            "camera_id": alert.camera_id,
            "camera_type": alert.camera_type,
            "zip_code": alert.zip_code,
            "sector": alert.sector,
            "cause": incident.cause,
            "description": incident.description,
            "data_gathered": incident.data_gathered,
            "resulted_in_investigation": incident.resulted_in_investigation,
            "enforcement_action": alert.enforcement_action,
            "action_at": incident.action_at.isoformat(),
            "due_at": shift_end.isoformat(),
            "shift_end_source": source,
            "reported_at": now.isoformat(),
            "late": late,
            "notified": [r.value for r in INBOX_ROLES],
            "supervisor": body.supervisor,
        },
    )
    return _read(incident)


def _sees_all(principal: Principal) -> bool:
    return principal.has_any(*INCIDENT_OVERSEERS)


async def list_incidents(
    session: AsyncSession, *, principal: Principal, query: IncidentQuery
) -> Page[IncidentRead]:
    stmt = repository.incidents_stmt(
        reporter=None if _sees_all(principal) else principal.subject,
        late=query.late,
        cause=query.cause.value if query.cause else None,
        since=query.since,
        until=query.until,
    )
    page = query.page_params()
    rows, more, total = await offset_page(session, stmt, page=page)
    return page.answer([_read(i) for i in rows], more, total)


async def get_incident(
    session: AsyncSession, *, principal: Principal, incident_id: str
) -> IncidentRead:
    incident = await repository.get_incident(session, incident_id)
    if incident is None or not (_sees_all(principal) or incident.reported_by == principal.subject):
        raise IncidentNotFound(f"no wrong-vehicle incident {incident_id} that you can see")
    return _read(incident)


def _inbox_roles(principal: Principal) -> list[str]:
    return [r.value for r in INBOX_ROLES if r.value in principal.roles]


async def inbox(
    session: AsyncSession, *, principal: Principal, query: InboxQuery
) -> Page[InboxMessageRead]:
    stmt = repository.inbox_stmt(
        roles=_inbox_roles(principal),
        subject=principal.subject,
        unacknowledged=query.unacknowledged,
    )
    page = query.page_params()
    rows, more, total = await offset_page(session, stmt, page=page)
    return page.answer(
        [InboxMessageRead.model_validate(m, from_attributes=True) for m in rows], more, total
    )


async def acknowledge_message(
    session: AsyncSession, *, principal: Principal, message_id: str
) -> InboxMessageRead:
    message = await repository.get_message(
        session, message_id, roles=_inbox_roles(principal), subject=principal.subject
    )
    if message is None:
        raise MessageNotFound(f"no inbox message {message_id} addressed to you")
    if message.acknowledged_at is None:
        message.acknowledged_at = utcnow()
        message.acknowledged_by = principal.subject
        await session.flush()
        await emit(
            session,
            "inbox_message_acknowledged",
            actor=principal,
            data={
                "message_id": message.id,
                "kind": message.kind,
                "incident_id": message.incident_id,
                "recipient_role": message.recipient_role,
            },
        )
    return InboxMessageRead.model_validate(message, from_attributes=True)
