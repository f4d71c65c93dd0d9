"""The events access sends to audit about its own changes (344.4(d))."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access.models import OUTBOX
from alpr_common.events import Event
from alpr_common.outbox import enqueue

# The actor of changes access makes on its own (lapsed lockouts, seeded service clients).
SYSTEM_ACTOR = "system"


async def emit(
    session: AsyncSession,
    what: str,
    *,
    actor: str,
    now: datetime,
    subject: str | None = None,
    **data: Any,
) -> None:
    """Send a change to audit (344.4(d)) in the transaction that makes it."""
    await enqueue(
        session,
        OUTBOX,
        destination="audit",
        event=Event(
            source="access",
            type=f"access.{what}",
            time=now,
            subject=subject,
            data={"actor": actor, **data},
        ),
    )
