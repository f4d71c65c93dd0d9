"""Investigation holds and case-file exports (344.4(c), (e), (f)).

A hold references specific reads for a case and copies them into the hold store at once, so they
outlive the 30-day purge until the hold's retention date. An export is a zip bundle of the held
reads (JSON, CSV, images) with a SHA-256 manifest and a chain-of-custody record; every export and
every download is logged to audit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts import ingest as contract
from alpr_common.pagination import Page, PageParams
from alpr_common.purpose import Purpose
from alpr_ingest.deps import Runtime
from alpr_ingest.errors import ExportNotFound, HoldConflict, HoldNotFound, InvalidHold
from alpr_ingest.events import emit, purpose_fields
from alpr_ingest.models import CaseExport, ReadHold
from alpr_ingest.repository import holds as repo
from alpr_ingest.repository import reads as read_repo
from alpr_ingest.schemas import (
    ExportCreate,
    ExportRead,
    HoldCreate,
    HoldDetail,
    HoldRead,
    HoldReadsAdd,
    HoldRelease,
    HoldReview,
    ReadOut,
)
from alpr_ingest.search import read_out, retention_floor

CSV_COLUMNS = (
    "read_id",
    "plate",
    "region",
    "captured_at",
    "received_at",
    "camera_id",
    "camera_type",
    "zip_code",
    "sector",
    "lat",
    "lon",
    "confidence",
    "source",
    "vendor_read_id",
    "image_sha256",
    "clock_flagged",
)


def _hold_read(hold: ReadHold, count: int) -> HoldRead:
    return HoldRead.model_validate({**hold.model_dump(), "read_count": count})


def _same_case(purpose: Purpose, hold_case: str) -> None:
    if purpose.case_number != hold_case:
        raise InvalidHold(
            f"the declared case (X-ALPR-Case {purpose.case_number!r}) is not this hold's case "
            f"{hold_case!r}: holds and case files serve one specific case (344.4(e))"
        )


async def _load(session: AsyncSession, hold_id: str) -> ReadHold:
    hold = await session.get(ReadHold, hold_id)
    if hold is None:
        raise HoldNotFound(f"no hold {hold_id!r}")
    return hold


def _active(hold: ReadHold) -> None:
    if hold.status != "active":
        raise HoldConflict(f"hold {hold.id!r} is {hold.status}; create a new hold")


async def _attach(
    session: AsyncSession,
    *,
    rt: Runtime,
    hold: ReadHold,
    read_ids: list[uuid.UUID],
    now: datetime,
) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(read_ids))
    already = await repo.hold_read_ids(session, hold.id)
    wanted = [r for r in wanted if r not in already]
    rows = await read_repo.reads_by_ids(session, wanted, since=retention_floor(rt, now))
    found = {r.read_id for r in rows}
    missing = [str(r) for r in wanted if r not in found]
    if missing:
        raise InvalidHold(
            f"{len(missing)} read(s) not found within the retention window, e.g. {missing[0]}; "
            "reads are purged after the retention period unless held before",
            extra={"missing": missing[:100]},
        )
    await repo.add_hold_items(session, hold.id, rows, now)
    return [r.read_id for r in rows]


def _check_retention(value: date, today: date) -> None:
    if value <= today:
        raise InvalidHold("retention_until must be a future date (the records schedule's end)")


async def create_hold(
    session: AsyncSession,
    *,
    rt: Runtime,
    actor: Principal,
    purpose: Purpose,
    data: HoldCreate,
) -> HoldDetail:
    now = rt.now()
    _same_case(purpose, data.case_number)
    _check_retention(data.retention_until, now.date())
    hold = ReadHold(
        id=uuid.uuid4().hex,
        case_number=data.case_number,
        category=data.category,
        reason=data.reason,
        retention_until=data.retention_until,
        status="active",
        created_at=now,
        created_by=actor.subject,
        created_by_name=actor.name,
    )
    session.add(hold)
    await session.flush()
    added = await _attach(session, rt=rt, hold=hold, read_ids=data.read_ids, now=now)
    await emit(
        session,
        contract.HOLD_CREATED,
        actor=actor,
        data=contract.HoldCreatedData(
            hold_id=hold.id,
            category=hold.category,
            retention_until=hold.retention_until.isoformat(),
            read_ids=[str(r) for r in added],
            read_count=len(added),
            actor=actor.subject,
            **purpose_fields(purpose),
        ),
    )
    return await hold_detail(session, hold=hold)


async def hold_detail(session: AsyncSession, *, hold: ReadHold) -> HoldDetail:
    reads = [read_out(r) for r in await repo.held_reads(session, hold.id)]
    return HoldDetail.model_validate(
        {**_hold_read(hold, len(reads)).model_dump(), "reads": [r.model_dump() for r in reads]}
    )


async def get_hold(
    session: AsyncSession, *, rt: Runtime, actor: Principal, purpose: Purpose, hold_id: str
) -> HoldDetail:
    hold = await _load(session, hold_id)
    detail = await hold_detail(session, hold=hold)
    await emit(
        session,
        contract.HOLD_VIEWED,
        actor=actor,
        data=contract.HoldViewedData(
            hold_id=hold.id,
            read_count=detail.read_count,
            actor=actor.subject,
            at=rt.now().isoformat(),
            **purpose_fields(purpose),
        ),
    )
    return detail


async def list_holds(
    session: AsyncSession,
    *,
    status: str | None,
    case_number: str | None,
    page: PageParams,
) -> Page[HoldRead]:
    holds, more, total = await repo.list_holds(
        session, status=status, case_number=case_number, page=page
    )
    counts = await repo.hold_counts(session, [h.id for h in holds])
    return page.answer([_hold_read(h, counts.get(h.id, 0)) for h in holds], more, total)


async def add_reads(
    session: AsyncSession,
    *,
    rt: Runtime,
    actor: Principal,
    purpose: Purpose,
    hold_id: str,
    data: HoldReadsAdd,
) -> HoldDetail:
    now = rt.now()
    hold = await _load(session, hold_id)
    _active(hold)
    _same_case(purpose, hold.case_number)
    added = await _attach(session, rt=rt, hold=hold, read_ids=data.read_ids, now=now)
    await emit(
        session,
        contract.HOLD_UPDATED,
        actor=actor,
        data=contract.HoldUpdatedData(
            hold_id=hold.id,
            read_ids=[str(r) for r in added],
            actor=actor.subject,
            **purpose_fields(purpose),
        ),
    )
    return await hold_detail(session, hold=hold)


async def review_hold(
    session: AsyncSession, *, rt: Runtime, actor: Principal, hold_id: str, data: HoldReview
) -> HoldRead:
    now = rt.now()
    hold = await _load(session, hold_id)
    _active(hold)
    if data.retention_until is not None:
        _check_retention(data.retention_until, now.date())
        hold.retention_until = data.retention_until
    hold.reviewed_at = now
    hold.reviewed_by = actor.subject
    hold.review_notes = data.notes
    await session.flush()
    await emit(
        session,
        contract.HOLD_REVIEWED,
        actor=actor,
        data=contract.HoldReviewedData(
            hold_id=hold.id,
            case_number=hold.case_number,
            notes=data.notes,
            retention_until=hold.retention_until.isoformat(),
            actor=actor.subject,
        ),
    )
    return _hold_read(hold, (await repo.hold_counts(session, [hold.id])).get(hold.id, 0))


async def release_hold(
    session: AsyncSession, *, rt: Runtime, actor: Principal, hold_id: str, data: HoldRelease
) -> HoldRead:
    now = rt.now()
    hold = await _load(session, hold_id)
    _active(hold)
    hold.status = "released"
    hold.released_at = now
    hold.released_by = actor.subject
    hold.release_reason = data.reason
    await session.flush()
    # The copies go at the next purge once no active hold keeps them and they are past retention.
    await emit(
        session,
        contract.HOLD_RELEASED,
        actor=actor,
        data=contract.HoldReleasedData(
            hold_id=hold.id,
            case_number=hold.case_number,
            reason=data.reason,
            actor=actor.subject,
        ),
    )
    return _hold_read(hold, (await repo.hold_counts(session, [hold.id])).get(hold.id, 0))


# --- exports ------------------------------------------------------------------------------------


def _export_read(export: CaseExport) -> ExportRead:
    return ExportRead.model_validate(export, from_attributes=True)


def _csv(reads: list[ReadOut]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in reads:
        lat = r.position.lat if r.position else None
        lon = r.position.lon if r.position else None
        values: dict[str, Any] = {**r.model_dump(mode="json"), "lat": lat, "lon": lon}
        writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    return buffer.getvalue().encode("utf-8")


def _zip(files: dict[str, bytes], when: datetime) -> bytes:
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, files[name])
    return buffer.getvalue()


def export_path(rt: Runtime, export_id: str) -> Path:
    return Path(rt.settings.export_dir) / f"{export_id}.zip"


async def export_hold(
    session: AsyncSession,
    *,
    rt: Runtime,
    actor: Principal,
    purpose: Purpose,
    hold_id: str,
    data: ExportCreate,
) -> ExportRead:
    now = rt.now()
    hold = await _load(session, hold_id)
    _same_case(purpose, hold.case_number)
    reads = [read_out(r) for r in await repo.held_reads(session, hold.id)]
    export_id = uuid.uuid4().hex
    files: dict[str, bytes] = {
        "reads.json": json.dumps(
            [r.model_dump(mode="json") for r in reads], indent=1, sort_keys=True
        ).encode(),
        "reads.csv": _csv(reads),
    }
    missing_images = []
    for sha in sorted({r.image_sha256 for r in reads if r.image_sha256}):
        image = rt.images.get(sha)
        if image is None:
            missing_images.append(sha)
        else:
            files[f"images/{sha}.jpg"] = image
    previous = await repo.list_exports(session, hold.id)
    custody = [
        {
            "event": "hold_created",
            "at": hold.created_at.isoformat(),
            "by": hold.created_by,
            "by_name": hold.created_by_name,
            "why": hold.reason,
        },
        *[
            {
                "event": "exported",
                "export_id": p.id,
                "at": p.exported_at.isoformat(),
                "by": p.exported_by,
                "by_name": p.exported_by_name,
                "why": p.reason,
            }
            for p in previous
        ],
        {
            "event": "exported",
            "export_id": export_id,
            "at": now.isoformat(),
            "by": actor.subject,
            "by_name": actor.name,
            "why": data.reason,
            "purpose": purpose.code.value,
            "case_number": purpose.case_number,
        },
    ]
    files["chain_of_custody.json"] = json.dumps(
        {
            "export_id": export_id,
            "hold_id": hold.id,
            "case_number": hold.case_number,
            "category": hold.category,
            "retention_until": hold.retention_until.isoformat(),
            "custody": custody,
        },
        indent=1,
        sort_keys=True,
    ).encode()
    manifest = {
        "algorithm": "SHA-256",
        "export_id": export_id,
        "case_number": hold.case_number,
        "created_at": now.isoformat(),
        "files": {
            name: {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
            for name, content in sorted(files.items())
        },
        "missing_images": missing_images,
    }
    files["manifest.json"] = json.dumps(manifest, indent=1, sort_keys=True).encode()
    bundle = _zip(files, now)
    target = export_path(rt, export_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bundle)
    export = CaseExport(
        id=export_id,
        hold_id=hold.id,
        case_number=hold.case_number,
        reason=data.reason,
        purpose=purpose.as_log(),
        exported_at=now,
        exported_by=actor.subject,
        exported_by_name=actor.name,
        read_count=len(reads),
        image_count=sum(1 for name in files if name.startswith("images/")),
        file_name=f"case-{hold.case_number.replace('/', '-')}-{export_id[:8]}.zip",
        bundle_sha256=hashlib.sha256(bundle).hexdigest(),
        bundle_bytes=len(bundle),
        manifest=manifest,
        custody=custody,
    )
    session.add(export)
    await session.flush()
    # 344.4(e): every export is logged.
    await emit(
        session,
        contract.EXPORT,
        actor=actor,
        data=contract.ExportData(
            export_id=export.id,
            hold_id=hold.id,
            category=hold.category,
            read_count=export.read_count,
            image_count=export.image_count,
            bundle_sha256=export.bundle_sha256,
            actor=actor.subject,
            actor_name=actor.name,
            at=now.isoformat(),
            **purpose_fields(purpose),
        ),
    )
    return _export_read(export)


async def list_exports(session: AsyncSession, *, hold_id: str) -> list[ExportRead]:
    await _load(session, hold_id)
    return [_export_read(e) for e in await repo.list_exports(session, hold_id)]


async def download_export(
    session: AsyncSession,
    *,
    rt: Runtime,
    actor: Principal,
    purpose: Purpose,
    export_id: str,
) -> tuple[CaseExport, bytes]:
    now = rt.now()
    export = await session.get(CaseExport, export_id)
    if export is None:
        raise ExportNotFound(f"no case export {export_id!r}")
    _same_case(purpose, export.case_number)
    try:
        bundle = export_path(rt, export.id).read_bytes()
    except FileNotFoundError:
        raise ExportNotFound(
            f"the bundle of export {export_id!r} is no longer on disk; export the hold again"
        ) from None
    if hashlib.sha256(bundle).hexdigest() != export.bundle_sha256:
        raise ExportNotFound(
            f"the bundle of export {export_id!r} does not match its recorded SHA-256; it was "
            "altered on disk: export the hold again and report this to the CSO"
        )
    export.custody = [
        *export.custody,
        {
            "event": "downloaded",
            "at": now.isoformat(),
            "by": actor.subject,
            "by_name": actor.name,
            "why": purpose.reason,
        },
    ]
    await session.flush()
    await emit(
        session,
        contract.EXPORT_DOWNLOADED,
        actor=actor,
        data=contract.ExportDownloadedData(
            export_id=export.id,
            hold_id=export.hold_id,
            bundle_sha256=export.bundle_sha256,
            actor=actor.subject,
            at=now.isoformat(),
            **purpose_fields(purpose),
        ),
    )
    return export, bundle
