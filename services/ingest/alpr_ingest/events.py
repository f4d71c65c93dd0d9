"""Events the ingest emits through its outbox (see docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.events import Event
from alpr_common.outbox import enqueue
from alpr_ingest.models import OUTBOX

SOURCE = "ingest"
AUDIT = "audit"
HOTLIST = "hotlist"


def _clean(value: Any) -> Any:
    # PostgreSQL JSONB refuses NUL in strings; event data must never fail the change it records.
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


async def emit(
    session: AsyncSession,
    type_: str,
    *,
    subject: str | None,
    data: dict[str, Any],
    destination: str = AUDIT,
    sanitize: bool = True,
) -> Event:
    """Queue an event in the caller's transaction. `sanitize=False` for data built only from
    validated values (the read batches), which are large."""
    event = Event(
        source=SOURCE, type=type_, subject=subject, data=_clean(data) if sanitize else data
    )
    await enqueue(session, OUTBOX, destination=destination, event=event)
    return event
