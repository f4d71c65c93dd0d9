"""The events access sends to audit about its own changes (344.4(d))."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access.models import OUTBOX
from alpr_common.auditing import actor_fields, emit_audit
from alpr_common.auth import Principal
from alpr_common.contracts.access import EVENT_TYPES

SOURCE = "access"
# The actor of changes access makes on its own (lapsed lockouts, seeded service clients).
SYSTEM_ACTOR = "system"


async def emit(
    session: AsyncSession,
    what: str,
    *,
    actor: Principal | str,
    now: datetime,
    subject: str | None = None,
    **data: Any,
) -> None:
    """Send a change to audit (344.4(d)) in the transaction that makes it."""
    type_ = f"{SOURCE}.{what}"
    # Built from the contract, as audit reads it: a field of the wrong type fails here, in tests.
    checked = EVENT_TYPES[type_].model_validate({**data, **actor_fields(actor, source=SOURCE)})
    await emit_audit(
        session,
        OUTBOX,
        source=SOURCE,
        type=type_,
        actor=actor,
        data=checked,
        subject=subject,
        time=now,
    )
