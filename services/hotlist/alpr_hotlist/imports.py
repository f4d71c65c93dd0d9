"""Imports (344.2(c)): a source list's file replaces its imported entries, atomically, as the
list's next version. Records the policy does not accept are held for review (entries.approve_held),
never activated; every import is attributed and sent to audit with its counts."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.db import utcnow
from alpr_common.errors import Unprocessable
from alpr_common.pagination import offset_page
from alpr_hotlist import importers, repository
from alpr_hotlist.alerts import backmatch
from alpr_hotlist.auditing import emit
from alpr_hotlist.auth import acting_role
from alpr_hotlist.entries import fingerprint
from alpr_hotlist.errors import ImportNotFound
from alpr_hotlist.importers import ImportedEntry
from alpr_hotlist.lists import ensure_active, hotlist_facts, load_hotlist
from alpr_hotlist.models import HotlistImport
from alpr_hotlist.policy import MANUAL_SOURCE, cap_expiry
from alpr_hotlist.repository import INDEX_COUNTER
from alpr_hotlist.schemas import ImportQuery, ImportRead, Page
from alpr_hotlist.settings import HotlistSettings

# Held records listed in the import's audit event; the rest are counted.
AUDIT_HELD_LIMIT = 1000


def _import_values(e: ImportedEntry, now: datetime) -> dict[str, Any]:
    entered_at = e.entered_at or now
    # A file without dates still gets the BOLO and manual lifetime limits, from today.
    expires_at = cap_expiry(
        e.entry_type,
        manual=e.source == MANUAL_SOURCE,
        entered_at=entered_at,
        expires_at=e.expires_at,
    )
    return {
        "plate": e.plate,
        "region": e.region,
        "entry_type": e.entry_type.value if e.entry_type else None,
        "category": e.category[:64],
        "offense_class": e.offense_class.value if e.offense_class else None,
        "missing_endangered": e.missing_endangered,
        "reason": e.reason,
        "notes": e.notes,
        "source": e.source,
        "record_id": e.record_id[:64] if e.record_id else None,
        "ori": e.ori[:32] if e.ori else None,
        "entered_at": entered_at,
        "expires_at": expires_at,
        "manual_reason": e.manual_reason.value if e.manual_reason else None,
    }


def _zone(name: str | None, settings: HotlistSettings) -> tuple[ZoneInfo, str | None]:
    if name is None:
        return settings.zone, None
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(
            f"unknown time zone {name!r}; use an IANA name such as America/Chicago",
            extra={"field": "timezone"},
        ) from None


async def import_file(
    session: AsyncSession,
    *,
    settings: HotlistSettings,
    principal: Principal,
    hotlist_id: str,
    fmt: str | None,
    timezone: str | None,
    data: bytes,
    options: importers.ImportOptions | None = None,
) -> ImportRead:
    """Replace a source list's imported entries with a file's records, atomically, as the
    list's next version: unchanged records stay, missing ones are removed, new ones added;
    records the policy does not accept are held for review, never activated."""
    hotlist = ensure_active(await load_hotlist(session, hotlist_id, for_update=True))
    fmt = fmt or hotlist.import_format
    if fmt is None:
        raise Unprocessable(
            f"name the file's format (format=...; one of {', '.join(importers.FORMATS)}) or set "
            "the list's import_format",
            extra={"formats": list(importers.FORMATS)},
        )
    zone, zone_name = _zone(timezone, settings)
    options = options or importers.ImportOptions()
    result = importers.parse(fmt, data, tz=zone, options=options)
    now = utcnow()
    hotlist.version += 1
    hotlist.updated_at = now
    hotlist.updated_by = principal.subject
    imp = HotlistImport(
        id=uuid.uuid4().hex,
        hotlist_id=hotlist.id,
        format=fmt,
        version=hotlist.version,
        file_sha256=hashlib.sha256(data).hexdigest(),
        file_bytes=len(data),
        timezone=zone_name,
        errors=[{"row": e.row, "message": e.message} for e in result.errors],
        error_count=len(result.errors),
        created_at=now,
        created_by=principal.subject,
        created_by_name=principal.name,
    )
    await repository.add(session, imp)
    version = await repository.bump_counter(session, INDEX_COUNTER)
    common = {
        "hotlist_id": hotlist.id,
        "origin": "import",
        "import_id": imp.id,
        "list_version": hotlist.version,
        "entered_by": principal.subject,
        "entered_by_name": principal.name,
        "entered_by_role": acting_role(principal),
        "created_at": now,
        "updated_at": now,
        "updated_by": principal.subject,
        "index_version": version,
        "manual_reason_text": None,
    }
    existing = await repository.import_entry_fingerprints(session, hotlist.id)
    rows: list[dict[str, Any]] = []
    unchanged = 0
    for e in result.accepted:
        values = _import_values(e, now)
        fp = fingerprint(values)
        kept = existing.get(fp)
        if kept:
            kept.pop()
            unchanged += 1
            continue
        rows.append(
            {
                **common,
                **values,
                "fingerprint": fp,
                "status": "active",
                "import_row": e.row,
                "raw": e.raw,
                "held_clause": None,
                "held_reason": None,
            }
        )
    for h in result.held:
        values = _import_values(h.entry, now)
        rows.append(
            {
                **common,
                **values,
                "fingerprint": fingerprint(values),
                "status": "held",
                "import_row": h.entry.row,
                "raw": h.entry.raw,
                "held_clause": h.clause,
                "held_reason": str(h.reason),
            }
        )
    removed = [i for ids in existing.values() for i in ids]
    await repository.update_entries(
        session,
        removed,
        {
            "status": "removed",
            "removed_at": now,
            "removed_by": principal.subject,
            "removal_reason": f"not in import {imp.id} (version {hotlist.version})",
            "updated_at": now,
            "updated_by": principal.subject,
            "index_version": version,
        },
    )
    superseded = await repository.held_import_entry_ids(session, hotlist.id)
    await repository.update_entries(
        session,
        superseded,
        {
            "status": "superseded",
            "removal_reason": f"left out of import {imp.id} (version {hotlist.version})",
            "updated_at": now,
            "updated_by": principal.subject,
            "index_version": version,
        },
    )
    await repository.insert_entries(session, rows)
    imp.added = len(rows) - len(result.held)
    imp.removed = len(removed)
    imp.unchanged = unchanged
    imp.held = len(result.held)
    await session.flush()
    await emit(
        session,
        "import_applied",
        actor=principal,
        data={
            **hotlist_facts(hotlist),
            "import_id": imp.id,
            "format": fmt,
            "list_type": options.list_type.value if options.list_type else None,
            "file_sha256": imp.file_sha256,
            "added": imp.added,
            "removed": imp.removed,
            "unchanged": imp.unchanged,
            "held": imp.held,
            "errors": imp.error_count,
            "superseded_held": len(superseded),
            "held_records": [
                {"row": h.entry.row, "plate": h.entry.plate, "clause": h.clause}
                for h in result.held[:AUDIT_HELD_LIMIT]
            ],
        },
    )
    fresh = await repository.import_entries(session, imp.id, status="active", now=now)
    await backmatch.schedule(session, settings, fresh)
    return ImportRead.model_validate(imp, from_attributes=True)


async def list_imports(session: AsyncSession, *, query: ImportQuery) -> Page[ImportRead]:
    stmt = repository.imports_stmt(hotlist_id=query.hotlist_id)
    page = query.page_params()
    rows, more, total = await offset_page(session, stmt, page=page)
    return page.answer(
        [ImportRead.model_validate(i, from_attributes=True) for i in rows], more, total
    )


async def get_import(session: AsyncSession, *, import_id: str) -> ImportRead:
    imp = await repository.get_import(session, import_id)
    if imp is None:
        raise ImportNotFound(f"no import {import_id}")
    return ImportRead.model_validate(imp, from_attributes=True)
