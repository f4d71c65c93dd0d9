"""Events the ingest emits through its outbox (see docs/architecture.md). Their data is built from
the typed contracts in `alpr_common.contracts.ingest`, the definition the receivers use too."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auditing import AUDIT, audit_event
from alpr_common.auth import Principal
from alpr_common.contracts.base import EventData
from alpr_common.contracts.ingest import READ_FIELDS, READS, SCAN_COUNTS
from alpr_common.db import utcnow
from alpr_common.events import Event
from alpr_common.outbox import enqueue_routed
from alpr_common.purpose import Purpose
from alpr_ingest.models import OUTBOX
from alpr_ingest.repository.reads import StoredRead

SOURCE = "ingest"
HOTLIST = "hotlist"


def purpose_fields(purpose: Purpose) -> dict[str, Any]:
    """The `contracts.ingest.PurposeData` fields of a stated purpose (344.4(d))."""
    return dict(purpose.as_log())


def event(type_: str, *, subject: str | None, data: dict[str, Any]) -> Event:
    """An event of this service for another service than audit (the read batches to hotlist),
    its data built as the contract's model gives it from values ingest made or validated: not
    validated again here (the consumer validates what it takes in)."""
    return Event.model_construct(
        specversion="1.0",
        id=str(uuid.uuid4()),
        source=SOURCE,
        type=type_,
        time=utcnow(),
        subject=subject,
        data=data,
    )


async def emit(
    session: AsyncSession,
    type_: str,
    *,
    actor: Principal | str | None,
    data: EventData,
) -> Event:
    """Queue an audit event in the caller's transaction, attributed to `actor` (None: the service
    itself)."""
    made = audit_event(source=SOURCE, type=type_, actor=actor, data=data)
    await emit_routed(session, [(AUDIT, made)])
    return made


async def emit_routed(session: AsyncSession, routed: list[tuple[str, Event]]) -> None:
    """Queue events, each for its destination, in the caller's transaction (one statement)."""
    await enqueue_routed(session, OUTBOX, routed)


def _event_columns(
    stored: list[dict[str, Any]], updated: list[dict[str, Any]]
) -> dict[str, list[Any]]:
    """The reads of an `ingest.reads` event, one list per field of `contracts.ingest.READ_FIELDS`
    (`events.from_columns` reads them back): half the bytes of a list of objects to write, relay
    and parse."""
    rows = stored + updated
    columns: dict[str, list[Any]] = {"read_id": [str(r["read_id"]) for r in rows]}
    for name in _ROW_FIELDS:
        columns[name] = [r[name] for r in rows]
    # captured_at stays a datetime: the JSON encoder writes it (RFC 3339, `Z`) fastest.
    columns["candidates"] = [[c["plate"] for c in r["candidates"]] for r in rows]
    columns["updated"] = [False] * len(stored) + [True] * len(updated)
    return columns


# The READ_FIELDS taken from a stored row as they are.
_ROW_FIELDS = tuple(f for f in READ_FIELDS if f not in ("read_id", "candidates", "updated"))


def scan_counts(
    rows: list[dict[str, Any]], superseded: list[StoredRead] | None = None
) -> list[dict[str, Any]]:
    """Reads per (UTC day, camera type, zip code, sector, camera): audit items 1 and 9, each a
    `contracts.ingest.ScanCount` as data. A read merged into another (`superseded`) was counted
    when it was stored: it is counted again as superseded, so the figures count the vehicle
    pass once."""
    counter: Counter[tuple[date, str, str | None, str | None, str]] = Counter(
        (
            r["captured_at"].astimezone(UTC).date(),
            r["camera_type"],
            r["zip_code"],
            r["sector"],
            r["camera_id"],
        )
        for r in rows
    )
    merged: Counter[tuple[date, str, str | None, str | None, str]] = Counter(
        (r.captured_at.astimezone(UTC).date(), r.camera_type, r.zip_code, r.sector, r.camera_id)
        for r in superseded or ()
    )
    return [
        {
            "day": day.isoformat(),
            "camera_type": camera_type,
            "zip_code": zip_code,
            "sector": sector,
            "camera_id": camera_id,
            "reads": counter[key],
            "superseded": merged[key],
        }
        for key in sorted(counter.keys() | merged.keys(), key=lambda k: tuple(str(x) for x in k))
        for (day, camera_type, zip_code, sector, camera_id) in (key,)
    ]


def read_events(
    principal: Principal,
    stored: list[dict[str, Any]],
    updated: list[dict[str, Any]],
    superseded: list[StoredRead],
) -> list[tuple[str, Event]]:
    """A message's events, each with its destination: the reads to hotlist, the scan counts
    to audit."""
    if not stored and not updated:
        return []
    batch_id = uuid.uuid4().hex
    # The events' data are built here from values ingest made or validated, as their contract
    # models (`ReadsData`, `ScanCountsData`) would give them, without validating them again:
    # that was half the cost of building them (55 -> 28 us a message). hotlist and audit
    # validate what they take in; the tests check these against the models.
    # To hotlist for matching: new reads, and reads a final message replaced (their plate may
    # differ from the preview's); the hotlist alerts once per read id.
    routed = [
        (
            HOTLIST,
            event(
                READS,
                subject=principal.subject,
                data={"batch_id": batch_id, "columns": _event_columns(stored, updated)},
            ),
        )
    ]
    if stored or superseded:
        # To audit: counters survive the 30-day purge (344.6(b)1 and 9); updates are not new
        # scans, and a read merged into another is taken back out of them.
        routed.append(
            (
                AUDIT,
                audit_event(
                    source=SOURCE,
                    type=SCAN_COUNTS,
                    actor=principal,
                    data={"batch_id": batch_id, "counts": scan_counts(stored, superseded)},
                ),
            )
        )
    return routed
