"""Wrong-vehicle incidents (344.4(g)) and the inbox of supervisors and Risk Management."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alpr_common.db import SessionDep
from alpr_hotlist import incidents
from alpr_hotlist.auth import InboxReader, IncidentReader, IncidentReporter
from alpr_hotlist.deps import MessageIdPath, SettingsDep, errors
from alpr_hotlist.errors import (
    AlertNotFound,
    IncidentExists,
    IncidentNotFound,
    IncidentRefused,
    MessageNotFound,
)
from alpr_hotlist.schemas import (
    InboxMessageRead,
    InboxQuery,
    IncidentCreate,
    IncidentQuery,
    IncidentRead,
    Page,
)

router = APIRouter(prefix="/v1", tags=["wrong-vehicle incidents"])

_IdPath = MessageIdPath


@router.post(
    "/wrong-vehicle-incidents",
    status_code=201,
    response_model=IncidentRead,
    responses=errors(AlertNotFound, IncidentRefused, IncidentExists),
)
async def report_incident(
    session: SessionDep, principal: IncidentReporter, settings: SettingsDep, body: IncidentCreate
) -> IncidentRead:
    """Report action on the wrong vehicle; supervisor and Risk Management are told (344.4(g))."""
    return await incidents.report(session, settings=settings, principal=principal, body=body)


@router.get("/wrong-vehicle-incidents", response_model=Page[IncidentRead], responses=errors())
async def list_incidents(
    session: SessionDep, principal: IncidentReader, query: Annotated[IncidentQuery, Query()]
) -> Page[IncidentRead]:
    """Wrong-vehicle incidents, newest first; officers see the ones they reported."""
    return await incidents.list_incidents(session, principal=principal, query=query)


@router.get(
    "/wrong-vehicle-incidents/{incident_id}",
    response_model=IncidentRead,
    responses=errors(IncidentNotFound),
)
async def get_incident(
    session: SessionDep, principal: IncidentReader, incident_id: _IdPath
) -> IncidentRead:
    """One wrong-vehicle incident."""
    return await incidents.get_incident(session, principal=principal, incident_id=incident_id)


@router.get("/inbox", response_model=Page[InboxMessageRead], responses=errors())
async def list_inbox(
    session: SessionDep, principal: InboxReader, query: Annotated[InboxQuery, Query()]
) -> Page[InboxMessageRead]:
    """Notifications for the caller's roles (supervisor, Risk Management), newest first."""
    return await incidents.inbox(session, principal=principal, query=query)


@router.post(
    "/inbox/{message_id}/acknowledgement",
    response_model=InboxMessageRead,
    responses=errors(MessageNotFound),
)
async def acknowledge_message(
    session: SessionDep, principal: InboxReader, message_id: MessageIdPath
) -> InboxMessageRead:
    """Mark a notification as read, attributed to the caller."""
    return await incidents.acknowledge_message(session, principal=principal, message_id=message_id)
