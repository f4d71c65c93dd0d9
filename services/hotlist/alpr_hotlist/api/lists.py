"""Hot lists (344.2(c)): create, read, rename, retire."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alpr_common.db import SessionDep
from alpr_hotlist import lists
from alpr_hotlist.auth import HotlistManager, ListReader
from alpr_hotlist.deps import HotlistIdPath, errors
from alpr_hotlist.errors import HotlistNameTaken, HotlistNotFound, HotlistRetired
from alpr_hotlist.schemas import HotlistCreate, HotlistQuery, HotlistRead, HotlistUpdate, Page

router = APIRouter(prefix="/v1", tags=["hotlists"])


@router.post(
    "/hotlists", status_code=201, response_model=HotlistRead, responses=errors(HotlistNameTaken)
)
async def create_hotlist(
    session: SessionDep, principal: HotlistManager, body: HotlistCreate
) -> HotlistRead:
    """Create a hot list (a source list such as NCIC stolen vehicles, or an agency list)."""
    return await lists.create_hotlist(session, principal=principal, body=body)


@router.get("/hotlists", response_model=Page[HotlistRead], responses=errors())
async def list_hotlists(
    session: SessionDep, _reader: ListReader, query: Annotated[HotlistQuery, Query()]
) -> Page[HotlistRead]:
    """Hot lists with their active and held entry counts, newest first."""
    return await lists.list_hotlists(session, query=query)


@router.get("/hotlists/{hotlist_id}", response_model=HotlistRead, responses=errors(HotlistNotFound))
async def get_hotlist(
    session: SessionDep, _reader: ListReader, hotlist_id: HotlistIdPath
) -> HotlistRead:
    """One hot list."""
    return await lists.get_hotlist(session, hotlist_id=hotlist_id)


@router.patch(
    "/hotlists/{hotlist_id}",
    response_model=HotlistRead,
    responses=errors(HotlistNotFound, HotlistNameTaken, HotlistRetired),
)
async def update_hotlist(
    session: SessionDep, principal: HotlistManager, hotlist_id: HotlistIdPath, body: HotlistUpdate
) -> HotlistRead:
    """Rename a hot list or change its description or default import format."""
    return await lists.update_hotlist(
        session, principal=principal, hotlist_id=hotlist_id, body=body
    )


@router.delete(
    "/hotlists/{hotlist_id}",
    response_model=HotlistRead,
    responses=errors(HotlistNotFound, HotlistRetired),
)
async def retire_hotlist(
    session: SessionDep,
    principal: HotlistManager,
    hotlist_id: HotlistIdPath,
    reason: Annotated[str | None, Query(max_length=500, pattern=r"^[^\x00]*$")] = None,
) -> HotlistRead:
    """Retire a hot list: its entries stop matching at once; its history is kept."""
    return await lists.retire_hotlist(
        session, principal=principal, hotlist_id=hotlist_id, reason=reason
    )
