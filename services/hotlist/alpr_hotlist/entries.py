"""Hot-list entries (344.2(c)): manually entered plates (344.6(b)7), changes and removals,
and the review of the records an import held.

Every write checks General Order 344 with `policy.check_entry` (a refusal names its clause),
bumps the `index` counter so every replica's index follows, queues a back-match for entries
that may now match, and sends an attributed `hotlist.*` event to audit."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from alpr_common.auth import Principal
from alpr_common.db import utcnow
from alpr_common.errors import Unprocessable
from alpr_common.pagination import keyset_page
from alpr_hotlist import repository
from alpr_hotlist.alerts import backmatch
from alpr_hotlist.alerts.index import normalise_plate
from alpr_hotlist.auditing import emit
from alpr_hotlist.auth import ENTRY_OVERSEERS, acting_role
from alpr_hotlist.errors import (
    EntryNotEditable,
    EntryNotFound,
    ExpiryRefused,
    NotYourEntry,
    PolicyRefused,
    policy_error,
)
from alpr_hotlist.lists import ensure_active, load_hotlist
from alpr_hotlist.models import HotlistEntry
from alpr_hotlist.policy import (
    MANUAL_SOURCE,
    MISSING_ENDANGERED_TYPES,
    EntryType,
    ManualEntryReason,
    OffenseClass,
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
    Page,
)
from alpr_hotlist.settings import HotlistSettings

MIN_MANUAL_REASON_TEXT = 10

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
    """A record's content as one hash: an import keeps an entry whose record is unchanged."""
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
    hotlist = ensure_active(await load_hotlist(session, body.hotlist_id))
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
    filters = query.model_dump(exclude={"limit", "cursor"})
    if filters.get("plate"):
        filters["plate"] = normalise_plate(filters["plate"])
    if filters.get("entry_type") is not None:
        filters["entry_type"] = filters["entry_type"].value
    stmt = repository.entries_stmt(**filters)
    page = query.page_params()
    # Lists hold hundreds of thousands of entries: keyset pages, no count.
    rows, more, total = await keyset_page(session, stmt, key=(col(HotlistEntry.id),), page=page)
    now = utcnow()
    return page.answer([entry_read(e, now) for e in rows], more, total)


async def list_held(session: AsyncSession, *, query: HeldQuery) -> Page[EntryRead]:
    stmt = repository.entries_stmt(
        hotlist_id=query.hotlist_id, import_id=query.import_id, status="held"
    )
    page = query.page_params()
    rows, more, total = await keyset_page(session, stmt, key=(col(HotlistEntry.id),), page=page)
    return page.answer([entry_read(e) for e in rows], more, total)


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
    hotlist = ensure_active(await load_hotlist(session, entry.hotlist_id))
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
