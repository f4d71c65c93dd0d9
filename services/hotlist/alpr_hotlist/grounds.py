"""The sharing service's check of a hot-list entry given as grounds for another agency's request
(344.5(b)): data is shared only for a vehicle on the hot list to locate a missing or endangered
person, so sharing asks whether the entry is live and of that kind."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.db import utcnow
from alpr_hotlist.errors import EntryNotFound
from alpr_hotlist.models import HotlistEntry

# Entry types that by themselves concern a missing or endangered person.
MISSING_PERSON_TYPES = frozenset({"amber_alert", "silver_alert"})


class EntryGrounds(BaseModel):
    entry_id: int
    plate: str
    region: str | None
    entry_type: str | None
    missing_endangered: bool
    status: str
    expires_at: datetime | None
    live: bool
    missing_person: bool


async def entry_grounds(session: AsyncSession, *, entry_id: int) -> EntryGrounds:
    entry = await session.get(HotlistEntry, entry_id)
    if entry is None:
        raise EntryNotFound(f"no hot-list entry {entry_id}")
    now = utcnow()
    live = entry.status == "active" and (entry.expires_at is None or entry.expires_at > now)
    missing = entry.entry_type in MISSING_PERSON_TYPES or (
        entry.entry_type == "bolo" and entry.missing_endangered
    )
    return EntryGrounds(
        entry_id=entry_id,
        plate=entry.plate,
        region=entry.region,
        entry_type=entry.entry_type,
        missing_endangered=entry.missing_endangered,
        status=entry.status,
        expires_at=entry.expires_at,
        live=live,
        missing_person=missing,
    )
