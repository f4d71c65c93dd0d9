"""Hot lists and their entries (344.2(c)): lists, manual entries (344.6(b)7), imports that
replace a source list as a new version, and the review of held records.

Every write checks General Order 344 with `policy.check_entry` (a refusal names its clause),
bumps the `index` counter so every replica's index follows, queues a back-match for entries
that may now match, and sends an attributed `hotlist.*` event to audit."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.db import utcnow
from alpr_common.errors import Unprocessable
from alpr_hotlist import backmatch, importers, repository
from alpr_hotlist.auditing import emit
from alpr_hotlist.auth import ENTRY_OVERSEERS, acting_role
from alpr_hotlist.errors import (
    EntryNotEditable,
    EntryNotFound,
    ExpiryRefused,
    HotlistNameTaken,
    HotlistNotFound,
    HotlistRetired,
    ImportNotFound,
    NotYourEntry,
    PolicyRefused,
    policy_error,
)
from alpr_hotlist.importers import ImportedEntry
from alpr_hotlist.matching import normalise_plate
from alpr_hotlist.models import Hotlist, HotlistEntry, HotlistImport
from alpr_hotlist.policy import (
    MANUAL_SOURCE,
    MISSING_ENDANGERED_TYPES,
    EntryType,
    ManualEntryReason,
    OffenseClass,
    cap_expiry,
    check_entry,
    entry_type_of,
    max_lifetime,
)
from alpr_hotlist.repository import INDEX_COUNTER
from alpr_hotlist.schemas import (
    EntryCreate,
    EntryQuery,
    EntryRead,
    EntryUpdate,
    HeldApproval,
    HeldQuery,
    HeldRejection,
    HotlistCreate,
    HotlistQuery,
    HotlistRead,
    HotlistUpdate,
    ImportQuery,
    ImportRead,
    Page,
)
from alpr_hotlist.settings import HotlistSettings

MIN_MANUAL_REASON_TEXT = 10
# Held records listed in the import's audit event; the rest are counted.
AUDIT_HELD_LIMIT = 1000

_FINGERPRINT_FIELDS = (
    "plate",
    "region",
    "entry_type",
    "category",
    "offense_class",
    "missing_endangered",
    "reason",
    "notes",
    "source",
    "record_id",
    "ori",
    "entered_at",
    "expires_at",
    "manual_reason",
)


def fingerprint(values: dict[str, Any]) -> str:
    parts = []
    for name in _FINGERPRINT_FIELDS:
        value = values.get(name)
        parts.append(value.isoformat() if isinstance(value, datetime) else value)
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _entry_facts(entry: HotlistEntry) -> dict[str, Any]:
    return {
        "entry_id": entry.id,
        "hotlist_id": entry.hotlist_id,
        "plate": entry.plate,
        "region": entry.region,
        "entry_type": entry.entry_type,
        "category": entry.category,
        "offense_class": entry.offense_class,
        "missing_endangered": entry.missing_endangered,
        "source": entry.source,
        "record_id": entry.record_id,
        "origin": entry.origin,
        "manual_reason": entry.manual_reason,
        "manual_reason_text": entry.manual_reason_text,
        "reason": entry.reason,
        "status": entry.status,
        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
        "entered_by": entry.entered_by,
        "entered_by_role": entry.entered_by_role,
    }


def entry_read(entry: HotlistEntry, now: datetime | None = None) -> EntryRead:
    now = now or utcnow()
    matching = entry.status == "active" and (entry.expires_at is None or entry.expires_at > now)
    return EntryRead.model_validate({**entry.model_dump(), "matching": matching})


# ---------------------------------------------------------------------------- lists


async def _hotlist(session: AsyncSession, hotlist_id: str, *, for_update: bool = False) -> Hotlist:
    hotlist = await repository.get_hotlist(session, hotlist_id, for_update=for_update)
    if hotlist is None:
        raise HotlistNotFound(f"no hot list {hotlist_id}")
    return hotlist


def _active(hotlist: Hotlist) -> Hotlist:
    if hotlist.status != "active":
        raise HotlistRetired(f"hot list {hotlist.id} ({hotlist.name}) is retired")
    return hotlist


def _hotlist_facts(hotlist: Hotlist) -> dict[str, Any]:
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
    await emit(session, "list_created", actor=principal, data=_hotlist_facts(hotlist))
    return (await _hotlist_reads(session, [hotlist]))[0]


async def list_hotlists(session: AsyncSession, *, query: HotlistQuery) -> Page[HotlistRead]:
    stmt = repository.hotlists_stmt(status=query.status, source=query.source)
    rows, total = await repository.page(session, stmt, page=query.page, page_size=query.page_size)
    return Page[HotlistRead](
        items=await _hotlist_reads(session, rows),
        total=total,
        page=query.page,
        page_size=query.page_size,
    )


async def get_hotlist(session: AsyncSession, *, hotlist_id: str) -> HotlistRead:
    return (await _hotlist_reads(session, [await _hotlist(session, hotlist_id)]))[0]


async def update_hotlist(
    session: AsyncSession, *, principal: Principal, hotlist_id: str, body: HotlistUpdate
) -> HotlistRead:
    hotlist = _active(await _hotlist(session, hotlist_id, for_update=True))
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
        data={**_hotlist_facts(hotlist), "before": before, "after": changes},
    )
    return (await _hotlist_reads(session, [hotlist]))[0]


async def retire_hotlist(
    session: AsyncSession, *, principal: Principal, hotlist_id: str, reason: str | None
) -> HotlistRead:
    """Retire a list: its entries stop matching at once (removed; held ones superseded)."""
    hotlist = _active(await _hotlist(session, hotlist_id, for_update=True))
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
        data={**_hotlist_facts(hotlist), "entries_removed": len(entries), "reason": reason},
    )
    return (await _hotlist_reads(session, [hotlist]))[0]


# ---------------------------------------------------------------------------- entries


def _manual_expiry(entry_type: EntryType, expires_at: datetime | None, now: datetime) -> datetime:
    limit = max_lifetime(entry_type, manual=True)
    assert limit is not None  # every manual entry has a lifetime limit
    days = limit.days
    if expires_at is None:
        raise ExpiryRefused(
            f"a manually entered plate must expire: send expires_at, at most {days} days ahead "
            f"for a {entry_type.value} entry (344.6(b)7)",
            extra={"clause": "344.6(b)7", "max_days": days},
        )
    if expires_at <= now:
        raise ExpiryRefused("expires_at is in the past; an entry must expire in the future")
    if expires_at > now + limit:
        raise ExpiryRefused(
            f"a manual {entry_type.value} entry lasts at most {days} days; renew it with a fresh "
            "justification when it runs out",
            extra={"clause": "344.6(b)7", "max_days": days},
        )
    return expires_at


def _check(
    *,
    entry_type: EntryType | str | None,
    offense_class: OffenseClass | None,
    reason: str,
    notes: str,
    source: str,
    manual_reason: ManualEntryReason | None,
    manual_reason_text: str | None = None,
) -> None:
    refusal = check_entry(
        entry_type=entry_type,
        offense_class=offense_class,
        reason=reason,
        notes=f"{notes}\n{manual_reason_text or ''}",
        source=source,
        manual_reason=manual_reason,
    )
    if refusal is not None:
        raise policy_error(refusal)
    if source == MANUAL_SOURCE and len((manual_reason_text or "").strip()) < MIN_MANUAL_REASON_TEXT:
        raise PolicyRefused(
            "344.6(b)7: a manually entered plate needs its justification in words "
            f"(manual_reason_text, at least {MIN_MANUAL_REASON_TEXT} characters) next to the "
            "reason code",
            extra={"clause": "344.6(b)7"},
        )


async def create_entry(
    session: AsyncSession,
    *,
    settings: HotlistSettings,
    principal: Principal,
    body: EntryCreate,
) -> EntryRead:
    """A manually entered plate (344.6(b)7), attributed to the person and their role."""
    hotlist = _active(await _hotlist(session, body.hotlist_id))
    _check(
        entry_type=body.entry_type,
        offense_class=body.offense_class,
        reason=body.reason,
        notes=body.notes,
        source=MANUAL_SOURCE,
        manual_reason=body.manual_reason,
        manual_reason_text=body.manual_reason_text,
    )
    now = utcnow()
    expires_at = _manual_expiry(body.entry_type, body.expires_at, now)
    values: dict[str, Any] = {
        "hotlist_id": hotlist.id,
        "plate": body.plate,
        "region": body.region,
        "entry_type": body.entry_type.value,
        "category": body.entry_type.value,
        "offense_class": body.offense_class.value if body.offense_class else None,
        "missing_endangered": body.missing_endangered
        or body.entry_type in MISSING_ENDANGERED_TYPES,
        "reason": body.reason,
        "notes": body.notes,
        "source": body.source,
        "record_id": body.record_id,
        "ori": body.ori,
        "manual_reason": body.manual_reason.value if body.manual_reason else None,
        "entered_at": now,
        "expires_at": expires_at,
    }
    entry = HotlistEntry(
        **values,
        origin="manual",
        manual_reason_text=body.manual_reason_text,
        status="active",
        list_version=hotlist.version,
        entered_by=principal.subject,
        entered_by_name=principal.name,
        entered_by_role=acting_role(principal),
        created_at=now,
        updated_at=now,
        updated_by=principal.subject,
        fingerprint=fingerprint(values),
        raw={},
        index_version=await repository.bump_counter(session, INDEX_COUNTER),
    )
    await repository.add(session, entry)
    assert entry.id is not None
    await emit(session, "entry_created", actor=principal, data=_entry_facts(entry))
    await backmatch.schedule(session, settings, [(entry.id, entry.plate)])
    return entry_read(entry, now)


async def list_entries(session: AsyncSession, *, query: EntryQuery) -> Page[EntryRead]:
    filters = query.model_dump(exclude={"page", "page_size"})
    if filters.get("plate"):
        filters["plate"] = normalise_plate(filters["plate"])
    if filters.get("entry_type") is not None:
        filters["entry_type"] = filters["entry_type"].value
    stmt = repository.entries_stmt(**filters)
    rows, total = await repository.page(session, stmt, page=query.page, page_size=query.page_size)
    now = utcnow()
    return Page[EntryRead](
        items=[entry_read(e, now) for e in rows],
        total=total,
        page=query.page,
        page_size=query.page_size,
    )


async def list_held(session: AsyncSession, *, query: HeldQuery) -> Page[EntryRead]:
    stmt = repository.entries_stmt(
        hotlist_id=query.hotlist_id, import_id=query.import_id, status="held"
    )
    rows, total = await repository.page(session, stmt, page=query.page, page_size=query.page_size)
    return Page[EntryRead](
        items=[entry_read(e) for e in rows],
        total=total,
        page=query.page,
        page_size=query.page_size,
    )


async def _entry(session: AsyncSession, entry_id: int, *, for_update: bool = False) -> HotlistEntry:
    entry = await repository.get_entry(session, entry_id, for_update=for_update)
    if entry is None:
        raise EntryNotFound(f"no hot-list entry {entry_id}")
    return entry


async def get_entry(session: AsyncSession, *, entry_id: int) -> EntryRead:
    return entry_read(await _entry(session, entry_id))


def _may_edit(principal: Principal, entry: HotlistEntry) -> None:
    if principal.has_any(*ENTRY_OVERSEERS) or entry.entered_by == principal.subject:
        return
    raise NotYourEntry(
        "only a hotlist manager, a supervisor or the person who entered it may change this entry"
    )


_NOT_NULL = ("reason", "notes", "missing_endangered")


async def update_entry(
    session: AsyncSession,
    *,
    settings: HotlistSettings,
    principal: Principal,
    entry_id: int,
    body: EntryUpdate,
) -> EntryRead:
    entry = await _entry(session, entry_id, for_update=True)
    _may_edit(principal, entry)
    if entry.status != "active":
        raise EntryNotEditable(
            f"entry {entry_id} is {entry.status}; only active entries change this way"
            + (" (held records go through approval)" if entry.status == "held" else "")
        )
    changes = body.model_dump(exclude_unset=True)
    for name in _NOT_NULL:
        if name in changes and changes[name] is None:
            raise Unprocessable(f"{name} cannot be null", extra={"field": name})
    if not changes:
        return entry_read(entry)
    manual = entry.origin == "manual"
    entry_type = entry_type_of(entry.entry_type)
    assert entry_type is not None  # active entries always have a 344.2(c) type
    offense = changes.get("offense_class", entry.offense_class)
    manual_reason = changes.get("manual_reason", entry.manual_reason)
    manual_text = changes.get("manual_reason_text", entry.manual_reason_text)
    if not manual:
        # An imported manual record's justification is its reason text (as on approval).
        manual_text = manual_text or changes.get("reason", entry.reason)
    _check(
        entry_type=entry_type,
        offense_class=OffenseClass(offense) if offense else None,
        reason=changes.get("reason", entry.reason),
        notes=changes.get("notes", entry.notes),
        source=MANUAL_SOURCE if manual else entry.source,
        manual_reason=ManualEntryReason(manual_reason) if manual_reason else None,
        manual_reason_text=manual_text,
    )
    now = utcnow()
    if "expires_at" in changes:
        limit = max_lifetime(entry_type, manual=manual)
        if manual or limit is not None:
            changes["expires_at"] = _manual_expiry(entry_type, changes["expires_at"], now)
        elif changes["expires_at"] is not None and changes["expires_at"] <= now:
            raise ExpiryRefused("expires_at is in the past; remove the entry instead")
    before = {k: _plain(getattr(entry, k)) for k in changes}
    for key, value in changes.items():
        setattr(entry, key, _plain(value))
    entry.updated_at = now
    entry.updated_by = principal.subject
    entry.fingerprint = fingerprint(entry.model_dump())
    entry.index_version = await repository.bump_counter(session, INDEX_COUNTER)
    await session.flush()
    await emit(
        session,
        "entry_updated",
        actor=principal,
        data={
            **_entry_facts(entry),
            "before": {k: _audit_value(v) for k, v in before.items()},
            "after": {k: _audit_value(_plain(v)) for k, v in changes.items()},
        },
    )
    if {"region", "expires_at"} & changes.keys():
        assert entry.id is not None
        await backmatch.schedule(session, settings, [(entry.id, entry.plate)])
    return entry_read(entry, now)


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") and not isinstance(value, datetime) else value


def _audit_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def remove_entry(
    session: AsyncSession, *, principal: Principal, entry_id: int, reason: str | None
) -> EntryRead:
    entry = await _entry(session, entry_id, for_update=True)
    _may_edit(principal, entry)
    if entry.status != "active":
        raise EntryNotEditable(f"entry {entry_id} is {entry.status}, not active")
    now = utcnow()
    entry.status = "removed"
    entry.removed_at = now
    entry.removed_by = principal.subject
    entry.removal_reason = reason
    entry.updated_at = now
    entry.updated_by = principal.subject
    entry.index_version = await repository.bump_counter(session, INDEX_COUNTER)
    await session.flush()
    await emit(
        session, "entry_removed", actor=principal, data={**_entry_facts(entry), "reason": reason}
    )
    return entry_read(entry, now)


# ---------------------------------------------------------------------------- held records


async def approve_held(
    session: AsyncSession,
    *,
    settings: HotlistSettings,
    principal: Principal,
    entry_id: int,
    body: HeldApproval,
) -> EntryRead:
    """Approve a held record; the policy is checked again on the record as corrected."""
    entry = await _entry(session, entry_id, for_update=True)
    if entry.status != "held":
        raise EntryNotEditable(f"entry {entry_id} is {entry.status}, not held for review")
    hotlist = _active(await _hotlist(session, entry.hotlist_id))
    entry_type = body.entry_type or entry_type_of(entry.entry_type)
    offense = body.offense_class or (
        OffenseClass(entry.offense_class) if entry.offense_class else None
    )
    manual_reason = body.manual_reason or (
        ManualEntryReason(entry.manual_reason) if entry.manual_reason else None
    )
    reason = body.reason or entry.reason
    _check(
        entry_type=entry_type or entry.category,
        offense_class=offense,
        reason=reason,
        notes=entry.notes,
        source=entry.source,
        manual_reason=manual_reason,
        # An imported manual record's justification is its reason text.
        manual_reason_text=reason if entry.source == MANUAL_SOURCE else None,
    )
    assert entry_type is not None  # check_entry refuses anything outside 344.2(c)
    now = utcnow()
    expires_at = body.expires_at or entry.expires_at
    limit = max_lifetime(entry_type, manual=entry.source == MANUAL_SOURCE)
    if limit is not None:
        if expires_at is None or expires_at > now + limit:
            expires_at = now + limit
    if expires_at is not None and expires_at <= now:
        raise ExpiryRefused(
            "the held record has already expired; approve it with a new expires_at or reject it"
        )
    before = {
        "entry_type": entry.entry_type,
        "category": entry.category,
        "offense_class": entry.offense_class,
        "held_clause": entry.held_clause,
        "held_reason": entry.held_reason,
    }
    entry.entry_type = entry_type.value
    entry.offense_class = offense.value if offense else None
    entry.manual_reason = manual_reason.value if manual_reason else None
    entry.reason = reason
    entry.expires_at = expires_at
    entry.missing_endangered = entry.missing_endangered or entry_type in MISSING_ENDANGERED_TYPES
    entry.status = "active"
    entry.reviewed_at = now
    entry.reviewed_by = principal.subject
    entry.review_note = body.note
    entry.updated_at = now
    entry.updated_by = principal.subject
    entry.list_version = hotlist.version
    entry.fingerprint = fingerprint(entry.model_dump())
    entry.index_version = await repository.bump_counter(session, INDEX_COUNTER)
    await session.flush()
    await emit(
        session,
        "held_entry_approved",
        actor=principal,
        data={**_entry_facts(entry), "before": before, "note": body.note},
    )
    assert entry.id is not None
    await backmatch.schedule(session, settings, [(entry.id, entry.plate)])
    return entry_read(entry, now)


async def reject_held(
    session: AsyncSession, *, principal: Principal, entry_id: int, body: HeldRejection
) -> EntryRead:
    entry = await _entry(session, entry_id, for_update=True)
    if entry.status != "held":
        raise EntryNotEditable(f"entry {entry_id} is {entry.status}, not held for review")
    now = utcnow()
    entry.status = "rejected"
    entry.reviewed_at = now
    entry.reviewed_by = principal.subject
    entry.review_note = body.note
    entry.updated_at = now
    entry.updated_by = principal.subject
    await session.flush()
    await emit(
        session,
        "held_entry_rejected",
        actor=principal,
        data={**_entry_facts(entry), "held_clause": entry.held_clause, "note": body.note},
    )
    return entry_read(entry, now)


# ---------------------------------------------------------------------------- imports


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
) -> ImportRead:
    """Replace a source list's imported entries with a file's records, atomically, as the
    list's next version: unchanged records stay, missing ones are removed, new ones added;
    records the policy does not accept are held for review, never activated."""
    hotlist = _active(await _hotlist(session, hotlist_id, for_update=True))
    fmt = fmt or hotlist.import_format
    if fmt is None:
        raise Unprocessable(
            f"name the file's format (format=...; one of {', '.join(importers.FORMATS)}) or set "
            "the list's import_format",
            extra={"formats": list(importers.FORMATS)},
        )
    zone, zone_name = _zone(timezone, settings)
    result = importers.parse(fmt, data, tz=zone)
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
            **_hotlist_facts(hotlist),
            "import_id": imp.id,
            "format": fmt,
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
    rows, total = await repository.page(session, stmt, page=query.page, page_size=query.page_size)
    return Page[ImportRead](
        items=[ImportRead.model_validate(i, from_attributes=True) for i in rows],
        total=total,
        page=query.page,
        page_size=query.page_size,
    )


async def get_import(session: AsyncSession, *, import_id: str) -> ImportRead:
    imp = await repository.get_import(session, import_id)
    if imp is None:
        raise ImportNotFound(f"no import {import_id}")
    return ImportRead.model_validate(imp, from_attributes=True)
