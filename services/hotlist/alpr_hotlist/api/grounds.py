"""Internal: the sharing service's live check of a hot-list entry (344.5(b))."""

from __future__ import annotations

from fastapi import APIRouter

from alpr_common.auth import ServiceCaller
from alpr_common.db import SessionDep
from alpr_hotlist import grounds
from alpr_hotlist.deps import EntryIdPath, errors
from alpr_hotlist.errors import EntryNotFound

router = APIRouter(prefix="/v1", tags=["internal"])


@router.get(
    "/sharing-grounds/{entry_id}",
    response_model=grounds.EntryGrounds,
    responses=errors(EntryNotFound),
)
async def entry_grounds(
    session: SessionDep, _caller: ServiceCaller, entry_id: EntryIdPath
) -> grounds.EntryGrounds:
    """Internal: whether a hot-list entry is live and concerns a missing or endangered person."""
    return await grounds.entry_grounds(session, entry_id=entry_id)
