"""Reads become alerts (344.3.2): each read is looked up in the replica's index (exact and
OCR-confusable); a hit is recorded once per (read, entry) and joins the alert of its entry and
camera within the alert window, or opens a new one. Alert creation runs under the `alert`
counter's lock, so replicas neither duplicate an alert nor number two alike, and the stream sees
alerts in order."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from prometheus_client import Counter, Histogram
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.db import utcnow
from alpr_hotlist import repository
from alpr_hotlist.alerts.index import Match, PlateIndex
from alpr_hotlist.alerts.stream import alert_payload
from alpr_hotlist.auditing import emit
from alpr_hotlist.models import Alert, AlertHit, Hotlist
from alpr_hotlist.repository import ALERT_COUNTER
from alpr_hotlist.settings import HotlistSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("alpr.hotlist.alerts")
_tracer = trace.get_tracer("alpr.hotlist.alerts")

LOOKUP_SECONDS = Histogram(
    "alpr_hotlist_lookup_seconds",
    "Time to look one batch of reads up in the hot-list index (hits recorded included), by "
    "origin: live (reads from ingest) or back_match (a new entry against recent reads).",
    ["origin"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
READ_TO_ALERT_SECONDS = Histogram(
    "alpr_hotlist_read_to_alert_seconds",
    "From a read's capture (the camera's clock) to its alert being created, live reads only.",
    buckets=(0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0),
)
HITS = Counter(
    "alpr_hotlist_hits_total",
    "Reads matched to an active entry (each read and entry once), by origin.",
    ["origin"],
)
ALERTS_CREATED = Counter(
    "alpr_hotlist_alerts_created_total",
    "Alerts created (a hit that joins an open alert of the same entry and camera adds none), "
    "by origin.",
    ["origin"],
)


_NO_NUL = r"^[^\x00]*$"
PLATE_MAX_CHARS = 16


class IncomingRead(BaseModel):
    """A read as ingest sends it (`ingest.reads`, and the back-match answer)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, str_max_length=128)

    read_id: str = Field(min_length=1, max_length=64, pattern=_NO_NUL)
    plate: str = Field(min_length=1, max_length=PLATE_MAX_CHARS, pattern=_NO_NUL)
    region: str | None = Field(None, max_length=16, pattern=_NO_NUL)
    captured_at: AwareDatetime
    camera_id: str = Field(min_length=1, max_length=128, pattern=_NO_NUL)
    camera_type: str | None = Field(None, max_length=16, pattern=_NO_NUL)
    zip_code: str | None = Field(None, max_length=16, pattern=_NO_NUL)
    sector: str | None = Field(None, max_length=64, pattern=_NO_NUL)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    confidence: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _position(cls, value: Any) -> Any:
        # Ingest's back-match answers with its read schema: `position: {lat, lon}`.
        if isinstance(value, dict) and isinstance(value.get("position"), dict):
            position = value["position"]
            value = {"lat": position.get("lat"), "lon": position.get("lon"), **value}
        return value

    @field_validator("captured_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # A capture time the window arithmetic cannot overflow on; nothing real is outside it.
        if not 1970 <= value.year <= 9000:
            raise ValueError("capture time out of range")
        return value.astimezone(UTC)


_READ = TypeAdapter(IncomingRead)


def parse_reads(raw: Sequence[Any]) -> list[IncomingRead]:
    reads = []
    bad = 0
    for item in raw:
        try:
            reads.append(_READ.validate_python(item))
        except ValidationError:
            bad += 1
    if bad:
        # Counts only: the rejected values may be plates.
        log.warning("reads skipped as malformed", extra={"skipped": bad, "total": len(raw)})
    return reads


@dataclass(frozen=True)
class _Hit:
    read: IncomingRead
    match: Match


def _passes_key_probe(plate: Any, could_match: Callable[[str], bool]) -> bool:
    """Whether a plate value may match an entry: text of a plate's length that the index's key
    probe does not rule out. Nearly every read is settled here, before any validation."""
    if not isinstance(plate, str) or not 0 < len(plate) <= PLATE_MAX_CHARS:
        return False
    try:
        return could_match(plate)
    except (ValueError, UnicodeError):
        return False


def _candidates(raw_reads: Sequence[Any], index: PlateIndex, now: datetime) -> list[Any]:
    """The reads whose plate matches an entry at `now`, found before any validation: most
    reads miss, and a lookup costs less than validating one. An entry that matches at a later
    instant matches now too, so this never drops a read the full check would keep."""
    if not len(index):
        return []
    could_match = index.could_match
    lookup = index.lookup
    found = []
    for item in raw_reads:
        if not isinstance(item, dict) or not _passes_key_probe(item.get("plate"), could_match):
            continue
        region = item.get("region")
        try:
            if lookup(item["plate"], region if isinstance(region, str) else None, now):
                found.append(item)
        except (ValueError, UnicodeError):
            continue
    return found


def could_match_rows(columns: Any, index: PlateIndex) -> list[int] | None:
    """The positions, in an event's columnar body, of the reads whose plate may match an entry:
    the plate column settles the rest before any record is built (most reads miss). None when
    there is no plate column to probe."""
    plates = columns.get("plate") if isinstance(columns, dict) else None
    if not isinstance(plates, list):
        return None
    if not len(index):
        return []
    could_match = index.could_match
    return [i for i, plate in enumerate(plates) if _passes_key_probe(plate, could_match)]


async def match_reads(
    session: AsyncSession,
    app: FastAPI,
    raw_reads: Sequence[Any],
    *,
    origin: str = "live",
    only_entries: set[int] | None = None,
    index: PlateIndex | None = None,
) -> int:
    """Match reads against the index; record hits and alerts. Returns the hits recorded.
    `index`: the current index, when the caller has just fetched it."""
    if not raw_reads:
        return 0
    if index is None:
        index = await app.state.index_keeper.current(session)
    started = time.perf_counter()
    now = utcnow()
    reads = parse_reads(_candidates(raw_reads, index, now))
    found: list[_Hit] = []
    for read in reads:
        # An entry stops matching at its expiry instant: a read is matched as of now, or as of
        # its capture when a camera clock runs ahead.
        at = read.captured_at if read.captured_at > now else now
        for match in index.lookup(read.plate, read.region, at):
            if only_entries is None or match.entry_id in only_entries:
                found.append(_Hit(read, match))
    hits = 0
    if found:
        with _tracer.start_as_current_span("alerts.record", attributes={"hits": len(found)}):
            hits = await _record_hits(session, app, found, origin=origin)
    LOOKUP_SECONDS.labels(origin).observe(time.perf_counter() - started)
    return hits


async def _record_hits(
    session: AsyncSession, app: FastAPI, found: list[_Hit], *, origin: str
) -> int:
    settings: HotlistSettings = app.state.settings
    window = timedelta(seconds=settings.alert_window_seconds)
    await repository.lock_counter(session, ALERT_COUNTER)
    entries = await repository.get_entries(session, {h.match.entry_id for h in found})
    lists: dict[str, Hotlist] = {}
    now = utcnow()
    created: list[Alert] = []
    joined: list[tuple[Alert, _Hit]] = []
    for hit in found:
        read, match = hit.read, hit.match
        entry = entries.get(match.entry_id)
        if entry is None or entry.status != "active":
            continue
        if await repository.hit_exists(session, read.read_id, match.entry_id):
            continue
        confusions = [c._asdict() for c in match.confusions]
        alert = await repository.open_alert(
            session,
            entry_id=match.entry_id,
            camera_id=read.camera_id,
            captured_at=read.captured_at,
            window=window,
        )
        if alert is None:
            if entry.hotlist_id not in lists:
                hotlist = await repository.get_hotlist(session, entry.hotlist_id)
                assert hotlist is not None
                lists[entry.hotlist_id] = hotlist
            alert = Alert(
                id=uuid.uuid4().hex,
                seq=await repository.bump_counter(session, ALERT_COUNTER),
                entry_id=match.entry_id,
                hotlist_id=entry.hotlist_id,
                hotlist_name=lists[entry.hotlist_id].name,
                entry_plate=entry.plate,
                entry_region=entry.region,
                entry_type=entry.entry_type or entry.category,
                entry_source=entry.source,
                entry_origin=entry.origin,
                entry_record_id=entry.record_id,
                entry_reason=entry.reason,
                offense_class=entry.offense_class,
                missing_endangered=entry.missing_endangered,
                manual_reason=entry.manual_reason,
                entered_by_role=entry.entered_by_role,
                plate=read.plate,
                region=read.region,
                match_type=match.match_type,
                confusions=confusions,
                camera_id=read.camera_id,
                camera_type=read.camera_type,
                zip_code=read.zip_code,
                sector=read.sector,
                lat=read.lat,
                lon=read.lon,
                confidence=read.confidence,
                first_read_id=read.read_id,
                first_read_at=read.captured_at,
                last_read_at=read.captured_at,
                read_count=1,
                origin=origin,
                created_at=now,
                updated_at=now,
                # Given, not defaulted: SQLModel inspects a default factory's signature on
                # every construction, 40% of the cost of building an Alert.
                rtcc_actions=[],
            )
            session.add(alert)
            created.append(alert)
        else:
            alert.read_count += 1
            alert.first_read_at = min(alert.first_read_at, read.captured_at)
            alert.last_read_at = max(alert.last_read_at, read.captured_at)
            alert.updated_at = now
            joined.append((alert, hit))
        session.add(
            AlertHit(
                read_id=read.read_id,
                entry_id=match.entry_id,
                alert_id=alert.id,
                plate=read.plate,
                region=read.region,
                captured_at=read.captured_at,
                camera_id=read.camera_id,
                match_type=match.match_type,
                confusions=confusions,
                origin=origin,
                matched_at=now,
            )
        )
        # The next hit may join this alert: make it visible to open_alert's query.
        await session.flush()
    for alert in created:
        await emit(session, "alert_created", actor=None, data=alert_facts(alert))
    for alert, hit in joined:
        await emit(
            session,
            "alert_read_added",
            actor=None,
            data={
                **alert_facts(alert),
                "read_id": hit.read.read_id,
                "captured_at": hit.read.captured_at.isoformat(),
                "hit_match_type": hit.match.match_type,
            },
        )
    if created:
        app.state.broadcaster.publish_after_commit(session, [alert_payload(a) for a in created])
    HITS.labels(origin).inc(len(created) + len(joined))
    if created:
        ALERTS_CREATED.labels(origin).inc(len(created))
        if origin == "live":
            for alert in created:
                late = (now - alert.first_read_at).total_seconds()
                READ_TO_ALERT_SECONDS.observe(max(0.0, late))
    return len(created) + len(joined)


def alert_facts(alert: Alert) -> dict[str, Any]:
    """What audit counts alerts by (344.6(b)2, 3, 7, 9, 11-13)."""
    return {
        "alert_id": alert.id,
        "seq": alert.seq,
        "entry_id": alert.entry_id,
        "hotlist_id": alert.hotlist_id,
        "hotlist_name": alert.hotlist_name,
        "entry_type": alert.entry_type,
        "entry_source": alert.entry_source,
        "entry_origin": alert.entry_origin,
        "manual_reason": alert.manual_reason,
        "entered_by_role": alert.entered_by_role,
        "missing_endangered": alert.missing_endangered,
        "read_id": alert.first_read_id,
        "plate": alert.plate,
        "match_type": alert.match_type,
        "confusions": alert.confusions,
        "camera_id": alert.camera_id,
        "camera_type": alert.camera_type,
        "zip_code": alert.zip_code,
        "sector": alert.sector,
        "origin": alert.origin,
        "status": alert.status,
    }
