"""Events the ingest emits through its outbox (see docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.events import Event
from alpr_common.outbox import enqueue_routed
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


def event(type_: str, *, subject: str | None, data: dict[str, Any], sanitize: bool = True) -> Event:
    """An event of this service. `sanitize=False` for data built only from validated values
    (the read batches), which are large."""
    return Event(
        source=SOURCE, type=type_, subject=subject, data=_clean(data) if sanitize else data
    )


async def emit(
    session: AsyncSession,
    type_: str,
    *,
    subject: str | None,
    data: dict[str, Any],
    destination: str = AUDIT,
    sanitize: bool = True,
) -> Event:
    """Queue an event in the caller's transaction."""
    made = event(type_, subject=subject, data=data, sanitize=sanitize)
    await emit_routed(session, [(destination, made)])
    return made


async def emit_routed(session: AsyncSession, routed: list[tuple[str, Event]]) -> None:
    """Queue events, each for its destination, in the caller's transaction (one statement)."""
    await enqueue_routed(session, OUTBOX, routed)
