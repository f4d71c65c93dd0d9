"""Sending an event to audit (344.4(d), 344.6): every service attributes its changes the same way,
in the transaction that makes them, through its outbox.

The data of every audit event carries its actor as three fields: `actor` (the subject,
`user:<id>`, `client:<id>`, or `service:<source>` for the service itself), `actor_name` and
`actor_roles`. A receiver reads them from any producer alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts.base import EventData
from alpr_common.events import Event
from alpr_common.outbox import OutboxTables, enqueue

AUDIT = "audit"
"""The audit service's name: the destination of every audit event."""


def system_actor(source: str) -> str:
    """The actor of a change a service makes on its own (a lapsed lockout, a matched read)."""
    return f"service:{source}"


def actor_fields(actor: Principal | str | None, *, source: str) -> dict[str, Any]:
    """`actor`, `actor_name`, `actor_roles` of a change. A string is a subject known without its
    token (the user a step acts for); None is the service itself."""
    if isinstance(actor, Principal):
        return {
            "actor": actor.subject,
            "actor_name": actor.name,
            "actor_roles": sorted(actor.roles),
        }
    if actor is None:
        return {"actor": system_actor(source), "actor_name": None, "actor_roles": []}
    return {"actor": actor, "actor_name": None, "actor_roles": []}


def _clean(value: Any) -> Any:
    # PostgreSQL JSONB refuses NUL in strings; an audit event must never fail the change it
    # records.
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def audit_event(
    *,
    source: str,
    type: str,
    actor: Principal | str | None,
    data: EventData | Mapping[str, Any],
    subject: str | None = None,
    time: datetime | None = None,
    attributed: bool = True,
) -> Event:
    """An audit event of `source`. `data` is the event's contract model (dumped with its aliases,
    unset defaults left out) or data already built from one; the actor fields are added and
    `subject` defaults to the actor. `attributed=False` for an event whose data names its own
    who (a login attempt: the account tried, known or not): no actor fields, `subject` as given."""
    body = (
        data.model_dump(by_alias=True, exclude_unset=True)
        if isinstance(data, EventData)
        else dict(data)
    )
    if attributed:
        fields = actor_fields(actor, source=source)
        body.update(fields)
        if subject is None:
            subject = fields["actor"]
    extra: dict[str, Any] = {} if time is None else {"time": time}
    return Event(source=source, type=type, subject=subject, data=_clean(body), **extra)


async def emit_audit(
    session: AsyncSession,
    outbox: OutboxTables,
    *,
    source: str,
    type: str,
    actor: Principal | str | None,
    data: EventData | Mapping[str, Any],
    subject: str | None = None,
    time: datetime | None = None,
    attributed: bool = True,
) -> Event:
    """Queue an audit event in the caller's transaction (see `audit_event`)."""
    event = audit_event(
        source=source,
        type=type,
        actor=actor,
        data=data,
        subject=subject,
        time=time,
        attributed=attributed,
    )
    await enqueue(session, outbox, destination=AUDIT, event=event)
    return event
