"""Hot lists (344.2(c)): create, rename, list and retire them. Retiring a list stops its entries
matching at once. Every change is attributed and sent to audit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.db import utcnow
from alpr_common.pagination import offset_page
from alpr_hotlist import repository
from alpr_hotlist.auditing import emit
from alpr_hotlist.errors import HotlistNameTaken, HotlistNotFound, HotlistRetired
from alpr_hotlist.models import Hotlist
from alpr_hotlist.repository import INDEX_COUNTER
from alpr_hotlist.schemas import HotlistCreate, HotlistQuery, HotlistRead, HotlistUpdate, Page


async def load_hotlist(
    session: AsyncSession, hotlist_id: str, *, for_update: bool = False
) -> Hotlist:
    hotlist = await repository.get_hotlist(session, hotlist_id, for_update=for_update)
    if hotlist is None:
        raise HotlistNotFound(f"no hot list {hotlist_id}")
    return hotlist


def ensure_active(hotlist: Hotlist) -> Hotlist:
    if hotlist.status != "active":
        raise HotlistRetired(f"hot list {hotlist.id} ({hotlist.name}) is retired")
    return hotlist


def hotlist_facts(hotlist: Hotlist) -> dict[str, Any]:
    return {
        "hotlist_id": hotlist.id,
        "name": hotlist.name,
        "source": hotlist.source,
        "status": hotlist.status,
        "version": hotlist.version,
    }


async def _hotlist_reads(session: AsyncSession, hotlists: list[Hotlist]) -> list[HotlistRead]:
    counts = await repository.entry_counts(session, [h.id for h in hotlists])
    return [
        HotlistRead.model_validate(
            {
                **h.model_dump(),
                "active_entries": counts.get((h.id, "active"), 0),
                "held_entries": counts.get((h.id, "held"), 0),
            }
        )
        for h in hotlists
    ]


async def create_hotlist(
    session: AsyncSession, *, principal: Principal, body: HotlistCreate
) -> HotlistRead:
    if await repository.get_hotlist_by_name(session, body.name) is not None:
        raise HotlistNameTaken(f"a hot list named {body.name!r} exists")
    now = utcnow()
    hotlist = Hotlist(
        id=uuid.uuid4().hex,
        name=body.name,
        description=body.description,
        source=body.source,
        import_format=body.import_format,
        created_at=now,
        created_by=principal.subject,
        created_by_name=principal.name,
        updated_at=now,
        updated_by=principal.subject,
    )
    try:
        async with session.begin_nested():
            await repository.add(session, hotlist)
    except IntegrityError:
        raise HotlistNameTaken(f"a hot list named {body.name!r} exists") from None
    await emit(session, "list_created", actor=principal, data=hotlist_facts(hotlist))
    return (await _hotlist_reads(session, [hotlist]))[0]


async def list_hotlists(session: AsyncSession, *, query: HotlistQuery) -> Page[HotlistRead]:
    stmt = repository.hotlists_stmt(status=query.status, source=query.source)
    page = query.page_params()
    rows, more, total = await offset_page(session, stmt, page=page)
    return page.answer(await _hotlist_reads(session, rows), more, total)


async def get_hotlist(session: AsyncSession, *, hotlist_id: str) -> HotlistRead:
    return (await _hotlist_reads(session, [await load_hotlist(session, hotlist_id)]))[0]


async def update_hotlist(
    session: AsyncSession, *, principal: Principal, hotlist_id: str, body: HotlistUpdate
) -> HotlistRead:
    hotlist = ensure_active(await load_hotlist(session, hotlist_id, for_update=True))
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items()}
    if changes.get("name") is None:
        changes.pop("name", None)
    if changes.get("description") is None:
        changes.pop("description", None)
    if "name" in changes and changes["name"].lower() != hotlist.name.lower():
        if await repository.get_hotlist_by_name(session, changes["name"]) is not None:
            raise HotlistNameTaken(f"a hot list named {changes['name']!r} exists")
    before = {k: getattr(hotlist, k) for k in changes}
    for key, value in changes.items():
        setattr(hotlist, key, value)
    hotlist.updated_at = utcnow()
    hotlist.updated_by = principal.subject
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise HotlistNameTaken(f"a hot list named {changes['name']!r} exists") from None
    await emit(
        session,
        "list_updated",
        actor=principal,
        data={**hotlist_facts(hotlist), "before": before, "after": changes},
    )
    return (await _hotlist_reads(session, [hotlist]))[0]


async def retire_hotlist(
    session: AsyncSession, *, principal: Principal, hotlist_id: str, reason: str | None
) -> HotlistRead:
    """Retire a list: its entries stop matching at once (removed; held ones superseded)."""
    hotlist = ensure_active(await load_hotlist(session, hotlist_id, for_update=True))
    now = utcnow()
    version = await repository.bump_counter(session, INDEX_COUNTER)
    ids = await repository.active_entry_ids(session, hotlist.id)
    entries = await repository.get_entries(session, ids)
    why = f"hot list retired{': ' + reason if reason else ''}"
    for entry in entries.values():
        entry.status = "removed" if entry.status == "active" else "superseded"
        entry.removed_at = now
        entry.removed_by = principal.subject
        entry.removal_reason = why
        entry.updated_at = now
        entry.updated_by = principal.subject
        entry.index_version = version
    hotlist.status = "retired"
    hotlist.retired_at = now
    hotlist.updated_at = now
    hotlist.updated_by = principal.subject
    await session.flush()
    await emit(
        session,
        "list_retired",
        actor=principal,
        data={**hotlist_facts(hotlist), "entries_removed": len(entries), "reason": reason},
    )
    return (await _hotlist_reads(session, [hotlist]))[0]
