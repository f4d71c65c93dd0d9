"""Every change to a list, an entry or an alert is attributed and sent to audit (344.4(d),
344.6): `hotlist.*` events through the outbox, in the transaction that makes the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts.hotlist import EVENT_TYPES
from alpr_common.events import Event
from alpr_common.outbox import enqueue
from alpr_hotlist.models import OUTBOX

SOURCE = "hotlist"
AUDIT = "audit"
SYSTEM_ACTOR = "service:hotlist"


def actor_fields(principal: Principal | None) -> dict[str, Any]:
    if principal is None:
        return {"actor": SYSTEM_ACTOR, "actor_name": "hotlist matching", "actor_roles": []}
    return {
        "actor": principal.subject,
        "actor_name": principal.name,
        "actor_roles": sorted(principal.roles),
    }


async def emit(
    session: AsyncSession,
    kind: str,
    *,
    actor: Principal | None,
    data: dict[str, Any],
) -> None:
    """Queue `hotlist.<kind>` for audit, attributed to `actor` (None: the service itself)."""
    event_type = f"hotlist.{kind}"
    payload = {**actor_fields(actor), **data}
    contract = EVENT_TYPES.get(event_type)
    if contract is not None:
        # The kernel's contract is what audit counts by: a field renamed here fails here.
        contract.model_validate(payload)
    event = Event(
        source=SOURCE,
        type=event_type,
        subject=actor.subject if actor is not None else SYSTEM_ACTOR,
        data=payload,
    )
    await enqueue(session, OUTBOX, destination=AUDIT, event=event)
