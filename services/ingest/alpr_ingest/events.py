"""Events the ingest emits through its outbox (see docs/architecture.md). Their data is built from
the typed contracts in `alpr_common.contracts.ingest`, the definition the receivers use too."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.contracts.base import EventData
from alpr_common.events import Event
from alpr_common.outbox import enqueue_routed
from alpr_common.purpose import Purpose
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


def purpose_fields(purpose: Purpose) -> dict[str, Any]:
    """The `contracts.ingest.PurposeData` fields of a stated purpose (344.4(d))."""
    return dict(purpose.as_log())


def event(
    type_: str, *, subject: str | None, data: EventData | dict[str, Any], sanitize: bool = True
) -> Event:
    """An event of this service. `data` is the contract's model; a plain dict is data already
    built from one (the read batches, whose model is validated but not dumped again: they are
    large). `sanitize=False` for data built only from validated values."""
    body = (
        data.model_dump(by_alias=True, exclude_unset=True) if isinstance(data, EventData) else data
    )
    return Event(
        source=SOURCE, type=type_, subject=subject, data=_clean(body) if sanitize else body
    )


async def emit(
    session: AsyncSession,
    type_: str,
    *,
    subject: str | None,
    data: EventData,
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
