"""Searching stored reads (344.4(a), (c), (d)): purpose-bound, time-bounded, audited, and never
past the retention window. There is deliberately no criterion about people (344.4(a)1): the
vehicle attributes (make, model, colour, body type) describe the vehicle, in one vocabulary
(`alpr_ingest.vehicles`), and narrow a search for a plate, a camera or an area.

Results come best match first: the plate asked for (`exact`), then its OCR look-alikes
(`look-alike`), for a pattern the plates it matches (`partial`), then those that match it only
as look-alikes (`partial-look-alike`); newest first within each. Every partial pattern is
served by a trigram index (see `alpr_ingest.plates`)."""

from __future__ import annotations

import math
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, literal
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts import ingest as contract
from alpr_common.pagination import PageParams
from alpr_common.purpose import Purpose
from alpr_ingest import vehicles
from alpr_ingest.deps import Runtime
from alpr_ingest.errors import InvalidSearch, ReadNotFound
from alpr_ingest.events import emit, purpose_fields
from alpr_ingest.normalize import normalize_plate
from alpr_ingest.plates import fold_confusable, like_pattern, parse_plate_query
from alpr_ingest.repository import reads as repo
from alpr_ingest.schemas import (
    BackMatchIn,
    BackMatchOut,
    CandidateRead,
    Position,
    ReadOut,
    SearchPage,
)

READS = repo.READS
_METRES_PER_DEGREE_LAT = 110_574.0
_METRES_PER_DEGREE_LON = 111_320.0


@dataclass(frozen=True)
class Criteria:
    plate: str | None = None
    confusable: bool = False
    since: datetime | None = None
    until: datetime | None = None
    camera_id: str | None = None
    min_lat: float | None = None
    min_lon: float | None = None
    max_lat: float | None = None
    max_lon: float | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    vehicle_make: tuple[str, ...] = ()
    vehicle_model: tuple[str, ...] = ()
    vehicle_color: tuple[str, ...] = ()
    vehicle_type: tuple[str, ...] = ()
    limit: int = 50


MATCH_KINDS = ("exact", "look-alike", "partial", "partial-look-alike")


def read_out(row: Any) -> ReadOut:
    position = (
        Position(lat=row.lat, lon=row.lon) if row.lat is not None and row.lon is not None else None
    )
    return ReadOut(
        read_id=row.read_id,
        plate=row.plate,
        plate_raw=row.plate_raw,
        region=row.region,
        captured_at=row.captured_at,
        received_at=row.received_at,
        device_time=row.device_time,
        clock_skew_seconds=row.clock_skew_seconds,
        clock_flagged=row.clock_flagged,
        camera_id=row.camera_id,
        camera_type=row.camera_type,
        zip_code=row.zip_code,
        sector=row.sector,
        position=position,
        confidence=row.confidence,
        candidates=[CandidateRead(**c) for c in row.candidates or []],
        vehicle=row.vehicle,
        vehicle_make=row.vehicle_make,
        vehicle_model=row.vehicle_model,
        vehicle_color=row.vehicle_color,
        vehicle_type=row.vehicle_type,
        match=MATCH_KINDS[row.match_rank] if getattr(row, "match_rank", None) is not None else None,
        image_sha256=row.image_sha256,
        source=row.source,
        vendor_read_id=row.vendor_read_id,
        group_state=row.group_state,
    )


def retention_floor(rt: Runtime, now: datetime) -> datetime:
    # 344.4(d): nothing older than the retention window is ever answered, purged yet or not.
    return now - timedelta(days=rt.settings.retention_days)


def _window(rt: Runtime, c: Criteria, now: datetime) -> tuple[datetime, datetime]:
    max_window = timedelta(days=rt.settings.search_max_window_days)
    floor = retention_floor(rt, now)
    ceiling = now + timedelta(seconds=rt.settings.max_future_skew_seconds)
    until = min(c.until, ceiling) if c.until is not None else now
    since = c.since if c.since is not None else max(floor, until - max_window)
    if since >= until:
        raise InvalidSearch("`since` must be before `until`")
    if until - since > max_window:
        raise InvalidSearch(
            f"the time window may cover at most {rt.settings.search_max_window_days} days; "
            "narrow `since`/`until`"
        )
    if until <= floor:
        raise InvalidSearch(
            f"the window ends before the retention window: reads are purged "
            f"{rt.settings.retention_days} days after capture (344.4(d))"
        )
    return max(since, floor), until


async def _plate(
    session: AsyncSession, text: str, *, confusable: bool, narrowed: bool
) -> tuple[ColumnElement[bool], ColumnElement[int]]:
    """The condition for a plate or pattern, and each match's rank (an index of MATCH_KINDS).
    `narrowed`: another criterion narrows the search (a shorter pattern will do)."""
    try:
        query, wild = parse_plate_query(text, narrowed=narrowed)
    except ValueError as exc:
        raise InvalidSearch(str(exc)) from None
    col = READS.c
    key = fold_confusable(query)
    if not wild:
        if not confusable:
            return col.plate == query, literal(0)
        return col.plate_key == key, case((col.plate == query, 0), else_=1)
    pattern = like_pattern(query)
    found = await repo.key_pattern(session, key)
    if not confusable:
        return found & col.plate.like(pattern), literal(2)
    return found, case((col.plate.like(pattern), 2), else_=3)


def _vocabulary(field: str, values: tuple[str, ...], normal: Any, known: tuple[str, ...] | None):
    out = []
    for value in values:
        word = normal(value)
        if word is None or (known is not None and word not in known):
            listed = f": one of {', '.join(known)}" if known is not None else ""
            raise InvalidSearch(f"{field} {value!r} is not in the vocabulary{listed}")
        out.append(word)
    return sorted(set(out))


def _vehicle(c: Criteria) -> list[ColumnElement[bool]]:
    """344.4(a)1: attributes of the vehicle, never of a person; each one narrows the search."""
    col = READS.c
    asked = (
        (col.vehicle_make, "vehicle_make", c.vehicle_make, vehicles.make, None),
        (col.vehicle_model, "vehicle_model", c.vehicle_model, vehicles.model, None),
        (col.vehicle_color, "vehicle_color", c.vehicle_color, vehicles.color, vehicles.COLORS),
        (col.vehicle_type, "vehicle_type", c.vehicle_type, vehicles.body_type, vehicles.BODY_TYPES),
    )
    out = []
    for column, field, values, normal, known in asked:
        if values:
            words = _vocabulary(field, values, normal, known)
            out.append(column == words[0] if len(words) == 1 else column.in_(words))
    return out


async def _conditions(
    session: AsyncSession, rt: Runtime, c: Criteria, now: datetime
) -> tuple[list[Any], ColumnElement[int] | None, datetime, datetime]:
    since, until = _window(rt, c, now)
    col = READS.c
    conditions: list[ColumnElement[bool]] = [col.captured_at >= since, col.captured_at <= until]
    narrowed = False
    rank = None
    if c.plate is not None:
        narrowing = (c.camera_id, c.min_lat, c.lat)
        vehicle = (c.vehicle_make, c.vehicle_model, c.vehicle_color, c.vehicle_type)
        plate, rank = await _plate(
            session,
            c.plate,
            confusable=c.confusable,
            narrowed=any(v is not None for v in narrowing) or any(vehicle),
        )
        conditions.append(plate)
        narrowed = True
    if c.camera_id is not None:
        conditions.append(col.camera_id == c.camera_id)
        narrowed = True
    box = (c.min_lat, c.min_lon, c.max_lat, c.max_lon)
    if any(v is not None for v in box):
        if any(v is None for v in box):
            raise InvalidSearch("an area box needs min_lat, min_lon, max_lat and max_lon")
        assert c.min_lat is not None and c.max_lat is not None
        assert c.min_lon is not None and c.max_lon is not None
        if c.min_lat > c.max_lat or c.min_lon > c.max_lon:
            raise InvalidSearch("an area box needs min_lat <= max_lat and min_lon <= max_lon")
        conditions += [
            col.lat >= c.min_lat,
            col.lat <= c.max_lat,
            col.lon >= c.min_lon,
            col.lon <= c.max_lon,
        ]
        narrowed = True
    circle = (c.lat, c.lon, c.radius_m)
    if any(v is not None for v in circle):
        if any(v is None for v in circle):
            raise InvalidSearch("a radius search needs lat, lon and radius_m")
        assert c.lat is not None and c.lon is not None and c.radius_m is not None
        conditions += _circle(c.lat, c.lon, c.radius_m)
        narrowed = True
    attributes = _vehicle(c)
    if not narrowed:
        raise InvalidSearch(
            "say what to look for: a plate (exact or partial), a camera, or an area; vehicle "
            "attributes narrow one of those, and a time window alone is not a search"
        )
    return conditions + attributes, rank, since, until


def _circle(lat: float, lon: float, radius_m: float) -> list[ColumnElement[bool]]:
    """Within radius_m of (lat, lon): a bounding box (indexable) and an equirectangular
    distance test in plain arithmetic, which both backends evaluate the same way."""
    col = READS.c
    dlat = radius_m / _METRES_PER_DEGREE_LAT
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    kx = _METRES_PER_DEGREE_LON * cos_lat
    dlon = min(radius_m / kx, 360.0)
    dx = (col.lon - lon) * kx
    dy = (col.lat - lat) * _METRES_PER_DEGREE_LAT
    return [
        col.lat >= lat - dlat,
        col.lat <= lat + dlat,
        col.lon >= lon - dlon,
        col.lon <= lon + dlon,
        dx * dx + dy * dy <= radius_m * radius_m,
    ]


def _criteria_log(c: Criteria, since: datetime, until: datetime) -> dict[str, Any]:
    logged = {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in asdict(c).items()
        if v is not None and v != () and k not in ("since", "until")
    }
    logged["since"] = since.isoformat()
    logged["until"] = until.isoformat()
    return logged


async def _audit(
    session: AsyncSession,
    *,
    principal: Principal,
    purpose: Purpose,
    criteria: dict[str, Any],
    result_count: int,
    returned: int,
    at: datetime,
    kind: str = "search",
) -> None:
    # 344.4(d): every query of ALPR data is logged: who, why (purpose, case), what, how much.
    await emit(
        session,
        contract.SEARCH,
        actor=principal,
        data=contract.SearchData(
            kind=kind,
            subject=principal.subject,
            name=principal.name,
            roles=sorted(principal.roles),
            criteria=criteria,
            result_count=result_count,
            returned=returned,
            at=at.isoformat(),
            **purpose_fields(purpose),
        ),
    )


async def search(
    session: AsyncSession,
    *,
    rt: Runtime,
    principal: Principal,
    purpose: Purpose,
    c: Criteria,
    page: PageParams,
) -> SearchPage:
    now = rt.now()
    conditions, rank, since, until = await _conditions(session, rt, c, now)
    page = replace(page, limit=c.limit)
    rows, more, total = await repo.search_reads(
        session, conditions=conditions, rank=rank, page=page
    )
    items = [read_out(r) for r in rows]
    await _audit(
        session,
        principal=principal,
        purpose=purpose,
        criteria=_criteria_log(c, since, until),
        result_count=total,
        returned=len(items),
        at=now,
    )
    return SearchPage(**page.answer(items, more, total).model_dump(), since=since, until=until)


async def get_read(
    session: AsyncSession,
    *,
    rt: Runtime,
    principal: Principal,
    purpose: Purpose,
    read_id: uuid.UUID,
) -> ReadOut:
    now = rt.now()
    row = await repo.get_read(session, read_id, since=retention_floor(rt, now))
    await _audit(
        session,
        principal=principal,
        purpose=purpose,
        criteria={"read_id": str(read_id)},
        result_count=0 if row is None else 1,
        returned=0 if row is None else 1,
        at=now,
        kind="read",
    )
    if row is None:
        raise ReadNotFound(f"no read {read_id} within the retention window")
    return read_out(row)


async def back_match(session: AsyncSession, *, rt: Runtime, data: BackMatchIn) -> BackMatchOut:
    now = rt.now()
    plates = []
    for text in data.plates:
        try:
            plates.append(normalize_plate(text))
        except ValueError as exc:
            raise InvalidSearch(f"plates: {exc}") from None
    plates = list(dict.fromkeys(plates))
    keys = [fold_confusable(p) for p in plates] if data.confusable else []
    limit = rt.settings.back_match_max_reads
    rows = await repo.back_match(
        session,
        plates=[] if data.confusable else plates,
        keys=list(dict.fromkeys(keys)),
        since=max(data.since, retention_floor(rt, now)),
        limit=limit + 1,
    )
    return BackMatchOut(reads=[read_out(r) for r in rows[:limit]], truncated=len(rows) > limit)
