"""Events the ingest emits through its outbox (see docs/architecture.md). Their data is built from
the typed contracts in `alpr_common.contracts.ingest`, the definition the receivers use too."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auditing import AUDIT, audit_event
from alpr_common.auth import Principal
from alpr_common.contracts.base import EventData
from alpr_common.db import utcnow
from alpr_common.events import Event
from alpr_common.outbox import enqueue_routed
from alpr_common.purpose import Purpose
from alpr_ingest.models import OUTBOX

SOURCE = "ingest"
HOTLIST = "hotlist"


def purpose_fields(purpose: Purpose) -> dict[str, Any]:
    """The `contracts.ingest.PurposeData` fields of a stated purpose (344.4(d))."""
    return dict(purpose.as_log())


def event(type_: str, *, subject: str | None, data: dict[str, Any]) -> Event:
    """An event of this service for another service than audit (the read batches to hotlist),
    its data built as the contract's model gives it from values ingest made or validated: not
    validated again here (the consumer validates what it takes in)."""
    return Event.model_construct(
        specversion="1.0",
        id=str(uuid.uuid4()),
        source=SOURCE,
        type=type_,
        time=utcnow(),
        subject=subject,
        data=data,
    )


async def emit(
    session: AsyncSession,
    type_: str,
    *,
    actor: Principal | str | None,
    data: EventData,
) -> Event:
    """Queue an audit event in the caller's transaction, attributed to `actor` (None: the service
    itself)."""
    made = audit_event(source=SOURCE, type=type_, actor=actor, data=data)
    await emit_routed(session, [(AUDIT, made)])
    return made


async def emit_routed(session: AsyncSession, routed: list[tuple[str, Event]]) -> None:
    """Queue events, each for its destination, in the caller's transaction (one statement)."""
    await enqueue_routed(session, OUTBOX, routed)
