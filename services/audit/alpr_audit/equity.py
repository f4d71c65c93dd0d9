"""344.3.2(c): where the permanent (fixed) cameras are, and where hits happen, against the
population of each zip code and sector, from a population table the department imports.

Cameras and placement reviews come from ingest's camera events on audit's own log
(`ingest.camera_registered`, `camera_updated`, `camera_status_changed`, `camera_retired`,
`placement_review_recorded`), replayed up to the period's end; hits are hot-list alerts and the
reads added to them (`hotlist.alert_created`, `hotlist.alert_read_added`) in the period. Purging
reads never changes the report.

Formula, per area type (zip or sector), over the areas of that type:
- camera share = the area's active fixed cameras / all active fixed cameras;
- population share = the area's population / the population of all imported areas;
- disparity index = camera share / population share (1: proportional; 2: twice the cameras its
  residents' share would give it; none when either share is unknown or the population is 0).
Group exposure, for each demographic column (counts of residents): the cameras per 100,000
residents a member of that group lives with on average,
sum(cameras / population * group) / sum(group), and its ratio to the same figure for the
whole population (1: no disparity).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import repository
from alpr_audit.errors import PopulationImportRace, PopulationTableInvalid
from alpr_audit.models import PopulationArea, PopulationImport
from alpr_audit.review_schemas import (
    AreaType,
    EquityAreaRead,
    EquityReportRead,
    GroupExposureRead,
    PlacementReviewRead,
    PopulationAreaRead,
    PopulationImportRead,
)
from alpr_common.auth import Principal
from alpr_common.db import utcnow

FORMULA = (
    "disparity index = (area's active fixed cameras / all active fixed cameras) / "
    "(area's population / population of all imported areas of the same type)"
)
CAMERA_EVENTS = [
    "ingest.camera_registered",
    "ingest.camera_updated",
    "ingest.camera_status_changed",
    "ingest.camera_retired",
]
REVIEW_EVENT = "ingest.placement_review_recorded"
HIT_EVENTS = ["hotlist.alert_created", "hotlist.alert_read_added"]
AREA_TYPES: tuple[AreaType, ...] = ("zip", "sector")
MAX_ROWS = 10_000
MAX_PROBLEMS = 50
_ZIP = re.compile(r"^[0-9]{5}$")
_COLUMN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


# ----------------------------------------------------------------------------- population import


def _problem(row: int | None, column: str | None, problem: str) -> dict[str, object]:
    return {"row": row, "column": column, "problem": problem}


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_population_csv(body: bytes) -> tuple[list[str], list[PopulationAreaRead]]:
    """The rows of a population CSV: `area`, `population`, optionally `area_type` (zip or sector;
    five digits is a zip code otherwise), and any demographic columns (counts of residents).
    Every problem is reported at once, with its line number; nothing is imported if any."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PopulationTableInvalid(
            "the population table is not UTF-8 text",
            problems=[_problem(None, None, "not UTF-8")],
        ) from None
    if "\x00" in text:
        raise PopulationTableInvalid(
            "the population table holds NUL characters",
            problems=[_problem(None, None, "NUL character")],
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise PopulationTableInvalid(
            "the population table is empty", problems=[_problem(None, None, "no header row")]
        ) from None
    except csv.Error as exc:
        raise PopulationTableInvalid(
            "the population table is not CSV", problems=[_problem(1, None, str(exc))]
        ) from None
    problems: list[dict[str, object]] = []
    for name in ("area", "population"):
        if name not in header:
            problems.append(_problem(1, name, "required column missing"))
    for name in header:
        if not _COLUMN.match(name):
            problems.append(_problem(1, name[:64], "column names are lower-case words (a-z0-9_)"))
    if len(set(header)) != len(header):
        problems.append(_problem(1, None, "a column name appears twice"))
    if problems:
        raise PopulationTableInvalid(
            "the population table's header is not usable", problems=problems
        )
    demographic = [h for h in header if h not in ("area", "area_type", "population")]
    rows: list[PopulationAreaRead] = []
    seen: set[tuple[str, str]] = set()
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_ROWS:
                problems.append(_problem(line, None, f"more than {MAX_ROWS} rows"))
                break
            if len(record) != len(header):
                problems.append(
                    _problem(line, None, f"{len(record)} cells for {len(header)} columns")
                )
                continue
            cells = {h: c.strip() for h, c in zip(header, record, strict=True)}
            row_problems = len(problems)
            area = cells["area"]
            if not area or len(area) > 64:
                problems.append(_problem(line, "area", "an area of 1 to 64 characters"))
            area_type = cells.get("area_type") or ("zip" if _ZIP.match(area) else "sector")
            if area_type not in AREA_TYPES:
                problems.append(_problem(line, "area_type", "zip or sector"))
            population = cells["population"]
            if not population.isdigit() or len(population) > 12:
                problems.append(_problem(line, "population", "a whole number, 0 or more"))
            demographics: dict[str, float] = {}
            for name in demographic:
                if not cells[name]:
                    continue
                value = _number(cells[name])
                if value is None:
                    problems.append(_problem(line, name, "a number, 0 or more"))
                else:
                    demographics[name] = value
            if (area_type, area) in seen:
                problems.append(_problem(line, "area", "the area appears twice"))
            seen.add((area_type, area))
            if len(problems) == row_problems:
                rows.append(
                    PopulationAreaRead(
                        area_type=area_type,
                        area=area,
                        population=int(population),
                        demographics=demographics,
                    )
                )
            if len(problems) >= MAX_PROBLEMS:
                break
    except csv.Error as exc:
        problems.append(_problem(reader.line_num, None, str(exc)))
    if problems:
        raise PopulationTableInvalid(
            f"{len(problems)} problem(s) in the population table; nothing was imported",
            problems=problems[:MAX_PROBLEMS],
        )
    if not rows:
        raise PopulationTableInvalid(
            "the population table has no rows", problems=[_problem(None, None, "no data rows")]
        )
    return ["area", "area_type", "population", *demographic], rows


def _import_read(row: PopulationImport) -> PopulationImportRead:
    return PopulationImportRead.model_validate(row, from_attributes=True)


async def import_population(
    session: AsyncSession, *, actor: Principal, body: bytes
) -> PopulationImportRead:
    """Import the department's population table; it becomes the current one. The same file
    imported again is the same import (a retry changes nothing)."""
    sha = hashlib.sha256(body).hexdigest()
    existing = await repository.import_by_sha(session, sha)
    if existing is not None:
        return _import_read(existing)
    columns, rows = parse_population_csv(body)
    record = PopulationImport(
        id=uuid.uuid4().hex,
        sha256=sha,
        row_count=len(rows),
        columns=columns,
        imported_at=utcnow(),
        imported_by=actor.subject,
    )
    session.add(record)
    try:
        await session.flush()
    except IntegrityError:
        raise PopulationImportRace(
            "the same table is being imported by another request; retry"
        ) from None
    session.add_all(
        PopulationArea(
            import_id=record.id,
            area_type=r.area_type,
            area=r.area,
            population=r.population,
            demographics=r.demographics,
        )
        for r in rows
    )
    await session.flush()
    return _import_read(record)


async def current_population(session: AsyncSession) -> list[PopulationAreaRead]:
    latest = await repository.latest_import(session)
    if latest is None:
        return []
    return [
        PopulationAreaRead.model_validate(a, from_attributes=True)
        for a in await repository.import_areas(session, latest.id)
    ]


# ----------------------------------------------------------------------------- the report


@dataclass
class _Camera:
    camera_type: str | None = None
    status: str | None = None
    zip_code: str | None = None
    sector: str | None = None


@dataclass
class _Tally:
    cameras: Counter[str] = field(default_factory=Counter)
    pending: Counter[str] = field(default_factory=Counter)
    hits: Counter[str] = field(default_factory=Counter)


def _s(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _apply_camera_event(
    cameras: dict[str, _Camera], event_type: str, data: Mapping[str, Any]
) -> None:
    camera_id = _s(data, "camera_id")
    if camera_id is None:
        return
    camera = cameras.setdefault(camera_id, _Camera())
    if event_type in ("ingest.camera_registered", "ingest.camera_retired"):
        camera.camera_type = _s(data, "camera_type") or camera.camera_type
        camera.status = _s(data, "status") or camera.status
        camera.zip_code = _s(data, "zip_code")
        camera.sector = _s(data, "sector")
        if event_type == "ingest.camera_retired":
            camera.status = "retired"
    elif event_type == "ingest.camera_updated":
        changes = data.get("changes")
        if isinstance(changes, dict):
            if "zip_code" in changes:
                camera.zip_code = _s(changes, "zip_code")
            if "sector" in changes:
                camera.sector = _s(changes, "sector")
    elif event_type == "ingest.camera_status_changed":
        camera.status = _s(data, "to") or camera.status
        camera.camera_type = _s(data, "camera_type") or camera.camera_type


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def _areas(
    area_type: AreaType, tally: _Tally, population: dict[str, PopulationAreaRead]
) -> list[EquityAreaRead]:
    total_cams = sum(tally.cameras.values())
    total_hits = sum(tally.hits.values())
    total_pop = sum(p.population for p in population.values())
    names = sorted(set(population) | set(tally.cameras) | set(tally.pending) | set(tally.hits))
    out = []
    for name in names:
        pop = population.get(name)
        cam_share = _share(tally.cameras[name], total_cams)
        pop_share = _share(pop.population, total_pop) if pop is not None else None
        out.append(
            EquityAreaRead(
                area_type=area_type,
                area=name,
                population=pop.population if pop is not None else None,
                fixed_cameras=tally.cameras[name],
                pending_fixed_cameras=tally.pending[name],
                hits=tally.hits[name],
                camera_share=cam_share,
                population_share=pop_share,
                hit_share=_share(tally.hits[name], total_hits),
                disparity_index=(
                    cam_share / pop_share if cam_share is not None and pop_share else None
                ),
            )
        )
    return out


def _exposure(
    area_type: AreaType, tally: _Tally, population: dict[str, PopulationAreaRead]
) -> list[GroupExposureRead]:
    places = [p for p in population.values() if p.population > 0]
    total_pop = sum(p.population for p in places)
    if not places or total_pop == 0:
        return []
    overall = sum(tally.cameras[p.area] for p in places) / total_pop
    columns = sorted({c for p in places for c in p.demographics})
    out = []
    for column in columns:
        group = sum(p.demographics.get(column, 0.0) for p in places)
        if group <= 0:
            rate = None
        else:
            rate = (
                sum(
                    tally.cameras[p.area] / p.population * p.demographics.get(column, 0.0)
                    for p in places
                )
                / group
            )
        out.append(
            GroupExposureRead(
                area_type=area_type,
                column=column,
                cameras_per_100k=rate * 100_000 if rate is not None else None,
                exposure_index=rate / overall if rate is not None and overall > 0 else None,
            )
        )
    return out


def _review(row: Any) -> PlacementReviewRead:
    data = row._mapping["data"] if isinstance(row._mapping["data"], dict) else {}
    approved = data.get("approved")
    return PlacementReviewRead(
        log_seq=row._mapping["seq"],
        camera_id=_s(data, "camera_id"),
        review_id=_s(data, "review_id"),
        reviewer=_s(data, "reviewer"),
        reviewed_on=_s(data, "reviewed_on"),
        approved=approved if isinstance(approved, bool) else None,
        zip_code=_s(data, "zip_code"),
        sector=_s(data, "sector"),
        notes=_s(data, "notes"),
    )


async def report(session: AsyncSession, *, start: datetime, end: datetime) -> EquityReportRead:
    """The equity report: cameras as of `end`, hits in [start, end), population as imported."""
    cameras: dict[str, _Camera] = {}
    async for page in repository.iter_typed_entries(session, CAMERA_EVENTS, start=None, end=end):
        for row in page:
            data = row._mapping["data"]
            if isinstance(data, dict):
                _apply_camera_event(cameras, row._mapping["type"], data)
    reviews: list[PlacementReviewRead] = []
    async for page in repository.iter_typed_entries(session, [REVIEW_EVENT], start=None, end=end):
        reviews.extend(_review(row) for row in page)
    tallies = {t: _Tally() for t in AREA_TYPES}
    for camera in cameras.values():
        if camera.camera_type != "fixed":
            continue
        for area_type, area in (("zip", camera.zip_code), ("sector", camera.sector)):
            if area is None:
                continue
            if camera.status == "active":
                tallies[area_type].cameras[area] += 1  # type: ignore[index]  # a literal key
            elif camera.status == "pending":
                tallies[area_type].pending[area] += 1  # type: ignore[index]  # a literal key
    total_hits = 0
    async for page in repository.iter_typed_entries(session, HIT_EVENTS, start=start, end=end):
        for row in page:
            data = row._mapping["data"] if isinstance(row._mapping["data"], dict) else {}
            total_hits += 1
            for area_type, key in (("zip", "zip_code"), ("sector", "sector")):
                area = _s(data, key)
                if area is not None:
                    tallies[area_type].hits[area] += 1  # type: ignore[index]  # a literal key
    latest = await repository.latest_import(session)
    areas = await repository.import_areas(session, latest.id) if latest is not None else []
    population: dict[str, dict[str, PopulationAreaRead]] = defaultdict(dict)
    for a in areas:
        population[a.area_type][a.area] = PopulationAreaRead.model_validate(a, from_attributes=True)
    approved = {r.camera_id for r in reviews if r.approved}
    return EquityReportRead(
        start=start,
        end=end,
        population_import=_import_read(latest) if latest is not None else None,
        formula=FORMULA,
        total_fixed_cameras=sum(
            1 for c in cameras.values() if c.camera_type == "fixed" and c.status == "active"
        ),
        total_hits=total_hits,
        areas=[a for t in AREA_TYPES for a in _areas(t, tallies[t], population[t])],
        group_exposure=[g for t in AREA_TYPES for g in _exposure(t, tallies[t], population[t])],
        placement_reviews=reviews,
        fixed_cameras_without_approved_review=sorted(
            cid
            for cid, c in cameras.items()
            if c.camera_type == "fixed" and c.status == "active" and cid not in approved
        ),
    )


def report_csv(report_: EquityReportRead) -> str:
    """The report's per-area table as CSV."""
    out = io.StringIO()
    columns = list(EquityAreaRead.model_fields)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for area in report_.areas:
        values = area.model_dump()
        writer.writerow(["" if values[c] is None else values[c] for c in columns])
    return out.getvalue()
