"""Hot-list entries: manual entries (344.6(b)7) and the review of held records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from alpr_common.db import SessionDep
from alpr_hotlist import entries
from alpr_hotlist.auth import HotlistManager, ListReader, ManualEntryWriter
from alpr_hotlist.deps import EntryIdPath, SettingsDep, errors
from alpr_hotlist.errors import (
    EntryNotEditable,
    EntryNotFound,
    ExpiryRefused,
    HotlistNotFound,
    HotlistRetired,
    NotYourEntry,
    PolicyForbidden,
    PolicyRefused,
)
from alpr_hotlist.schemas import (
    EntryCreate,
    EntryQuery,
    EntryRead,
    EntryUpdate,
    HeldApproval,
    HeldQuery,
    HeldRejection,
    Page,
)

router = APIRouter(prefix="/v1", tags=["hotlist entries"])


@router.post(
    "/hotlist-entries",
    status_code=201,
    response_model=EntryRead,
    responses=errors(
        HotlistNotFound, HotlistRetired, PolicyForbidden, PolicyRefused, ExpiryRefused
    ),
)
async def create_entry(
    session: SessionDep, principal: ManualEntryWriter, settings: SettingsDep, body: EntryCreate
) -> EntryRead:
    """Enter a plate by hand, with a reason code and text and an expiry (344.2(c), 344.6(b)7)."""
    return await entries.create_entry(session, settings=settings, principal=principal, body=body)


@router.get("/hotlist-entries", response_model=Page[EntryRead], responses=errors())
async def list_entries(
    session: SessionDep, _reader: ListReader, query: Annotated[EntryQuery, Query()]
) -> Page[EntryRead]:
    """Hot-list entries matching the filters, newest first."""
    return await entries.list_entries(session, query=query)


@router.get(
    "/hotlist-entries/{entry_id}", response_model=EntryRead, responses=errors(EntryNotFound)
)
async def get_entry(session: SessionDep, _reader: ListReader, entry_id: EntryIdPath) -> EntryRead:
    """One hot-list entry, with who entered it, why, and until when."""
    return await entries.get_entry(session, entry_id=entry_id)


@router.patch(
    "/hotlist-entries/{entry_id}",
    response_model=EntryRead,
    responses=errors(
        EntryNotFound, EntryNotEditable, NotYourEntry, PolicyForbidden, PolicyRefused, ExpiryRefused
    ),
)
async def update_entry(
    session: SessionDep,
    principal: ManualEntryWriter,
    settings: SettingsDep,
    entry_id: EntryIdPath,
    body: EntryUpdate,
) -> EntryRead:
    """Change an active entry; the policy is checked again on the result."""
    return await entries.update_entry(
        session, settings=settings, principal=principal, entry_id=entry_id, body=body
    )


@router.delete(
    "/hotlist-entries/{entry_id}",
    response_model=EntryRead,
    responses=errors(EntryNotFound, EntryNotEditable, NotYourEntry),
)
async def remove_entry(
    session: SessionDep,
    principal: ManualEntryWriter,
    entry_id: EntryIdPath,
    reason: Annotated[str | None, Query(max_length=500, pattern=r"^[^\x00]*$")] = None,
) -> EntryRead:
    """Remove an entry: it stops matching at once; its record is kept."""
    return await entries.remove_entry(
        session, principal=principal, entry_id=entry_id, reason=reason
    )


@router.get("/held-entries", response_model=Page[EntryRead], responses=errors())
async def list_held(
    session: SessionDep, _manager: HotlistManager, query: Annotated[HeldQuery, Query()]
) -> Page[EntryRead]:
    """Imported records held for a hotlist manager's review, with the clause that held them."""
    return await entries.list_held(session, query=query)


@router.post(
    "/held-entries/{entry_id}/approval",
    response_model=EntryRead,
    responses=errors(
        EntryNotFound,
        EntryNotEditable,
        HotlistRetired,
        PolicyForbidden,
        PolicyRefused,
        ExpiryRefused,
    ),
)
async def approve_held(
    session: SessionDep,
    principal: HotlistManager,
    settings: SettingsDep,
    entry_id: EntryIdPath,
    body: HeldApproval,
) -> EntryRead:
    """Activate a held record, corrected if need be; the policy is checked again first."""
    return await entries.approve_held(
        session, settings=settings, principal=principal, entry_id=entry_id, body=body
    )


@router.post(
    "/held-entries/{entry_id}/rejection",
    response_model=EntryRead,
    responses=errors(EntryNotFound, EntryNotEditable),
)
async def reject_held(
    session: SessionDep, principal: HotlistManager, entry_id: EntryIdPath, body: HeldRejection
) -> EntryRead:
    """Reject a held record: it never matches; the decision is kept."""
    return await entries.reject_held(session, principal=principal, entry_id=entry_id, body=body)
