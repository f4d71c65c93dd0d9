"""Release packages and preservation holds, built for the sharing service (344.5, 344.6(b)4).

Sharing decides whether ALPR data may leave the department; ingest, which keeps the data,
builds what leaves: a zip of the live reads of the named plates in the window (only the fields
the request needs) with a SHA-256 manifest, kept in the export directory for sharing to fetch
(344.4(c): nothing leaves the designated store except through holds and exports). Reads past the
retention floor are never answered, purged or not (344.4(d)). On PostgreSQL the rows are written
by `COPY (SELECT ...) TO STDOUT` straight into the bundle.

A preservation request places an ordinary hold on the reads of its plates and window, with the
requester as the hold's author and its deadline as the retention date (344.6(b)4).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts import ingest as contract
from alpr_ingest.deps import Runtime
from alpr_ingest.errors import ExportNotFound, InvalidHold
from alpr_ingest.events import emit
from alpr_ingest.models import ReadHold
from alpr_ingest.normalize import normalize_plate
from alpr_ingest.repository import holds as hold_repo
from alpr_ingest.repository import releases as repo
from alpr_ingest.schemas import ApiTime, CameraId, CaseNumber, Explanation, HoldRead, Name
from alpr_ingest.search import retention_floor

# The fields a release may carry; a request names the ones it needs (nothing else leaves).
ReleaseField = Literal[
    "read_id",
    "plate",
    "region",
    "captured_at",
    "camera_id",
    "camera_type",
    "zip_code",
    "sector",
    "lat",
    "lon",
    "confidence",
    "image_sha256",
]
DEFAULT_FIELDS: tuple[ReleaseField, ...] = (
    "read_id",
    "plate",
    "region",
    "captured_at",
    "camera_id",
    "lat",
    "lon",
)
PlateText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 .-]{1,20}$")]
ReleaseId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReleaseScope(_In):
    plates: list[PlateText] = Field(default_factory=list, max_length=1000)
    camera_ids: list[CameraId] = Field(default_factory=list, max_length=1000)
    since: ApiTime
    until: ApiTime


class ReleaseCreate(ReleaseScope):
    """What sharing asks for: its package id (the release is built once per id), the request and
    case it serves, and the scope and fields approved."""

    release_id: ReleaseId
    request_id: ReleaseId
    case_number: CaseNumber | None = None
    fields: list[ReleaseField] = Field(default_factory=lambda: list(DEFAULT_FIELDS), min_length=1)


class ReleaseRead(BaseModel):
    release_id: str
    read_count: int
    sha256: str = Field(description="SHA-256 of the zip bundle")
    bytes: int
    manifest: dict[str, object]


class PreservationHoldCreate(ReleaseScope):
    request_id: ReleaseId
    case_number: CaseNumber
    requester: Name
    requester_type: Literal["governmental", "defendant"]
    deadline: date
    reason: Explanation


def _plates(plates: list[str]) -> list[str]:
    out = []
    for p in plates:
        try:
            out.append(normalize_plate(p))
        except ValueError as exc:
            raise InvalidHold(f"plate {p!r}: {exc}") from None
    return sorted(set(out))


def _window(rt: Runtime, scope: ReleaseScope, now: datetime) -> tuple[datetime, datetime]:
    # 344.4(d): nothing older than the retention window leaves, purged yet or not.
    lo = max(scope.since, retention_floor(rt, now))
    hi = min(scope.until, now)
    return lo, hi


def release_path(rt: Runtime, release_id: str) -> Path:
    return Path(rt.settings.export_dir) / "releases" / f"{release_id}.zip"


def _read_manifest(path: Path) -> tuple[dict[str, object], int]:
    with zipfile.ZipFile(path) as bundle:
        manifest: dict[str, object] = json.loads(bundle.read("manifest.json"))
    return manifest, int(str(manifest.get("read_count", 0)))


def _sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def build_release(
    session: AsyncSession, *, rt: Runtime, actor: Principal, data: ReleaseCreate
) -> ReleaseRead:
    """Build (once per release id) the bundle of the approved scope."""
    target = release_path(rt, data.release_id)
    if target.exists():  # a retry of a release already built: the same bundle, not a new one
        built, built_count = _read_manifest(target)
        sha, size = _sha256_file(target)
        return ReleaseRead(
            release_id=data.release_id,
            read_count=built_count,
            sha256=sha,
            bytes=size,
            manifest=built,
        )
    now = rt.now()
    plates = _plates(data.plates)
    lo, hi = _window(rt, data, now)
    fields = list(dict.fromkeys(data.fields))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_suffix(f".{uuid.uuid4().hex[:8]}.part")
    csv_path = staging.with_suffix(".csv")
    try:
        digest = hashlib.sha256()
        with csv_path.open("wb") as out:

            def write(chunk: bytes) -> None:
                digest.update(chunk)
                out.write(chunk)

            count = await repo.write_release_csv(
                session,
                write,
                fields=fields,
                plates=plates,
                camera_ids=sorted(set(data.camera_ids)),
                lo=lo,
                hi=hi,
            )
        csv_bytes = csv_path.stat().st_size
        manifest: dict[str, object] = {
            "algorithm": "SHA-256",
            "release_id": data.release_id,
            "request_id": data.request_id,
            "case_number": data.case_number,
            "created_at": now.isoformat(),
            "scope": {
                "plates": plates,
                "camera_ids": sorted(set(data.camera_ids)),
                "since": lo.isoformat(),
                "until": hi.isoformat(),
            },
            "fields": fields,
            "read_count": count,
            "files": {"reads.csv": {"sha256": digest.hexdigest(), "bytes": csv_bytes}},
        }
        stamp = (max(now.year, 1980), now.month, now.day, now.hour, now.minute, now.second)
        # Stored, not deflated: the bundle is fetched once or twice over the cluster network and
        # compressing it would cost more than the COPY that produced it.
        with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_STORED) as bundle:
            bundle.write(csv_path, "reads.csv")
            info = zipfile.ZipInfo("manifest.json", date_time=stamp)
            bundle.writestr(info, json.dumps(manifest, indent=1, sort_keys=True))
        os.replace(staging, target)
    finally:
        csv_path.unlink(missing_ok=True)
        staging.unlink(missing_ok=True)
    sha, size = _sha256_file(target)
    await emit(
        session,
        contract.RELEASE_BUILT,
        actor=actor,
        data=contract.ReleaseBuiltData(
            release_id=data.release_id,
            request_id=data.request_id,
            case_number=data.case_number,
            read_count=count,
            plate_count=len(plates),
            fields=list(fields),
            bundle_sha256=sha,
            actor=actor.subject,
            at=now.isoformat(),
        ),
    )
    return ReleaseRead(
        release_id=data.release_id, read_count=count, sha256=sha, bytes=size, manifest=manifest
    )


def release_bundle(*, rt: Runtime, release_id: str) -> bytes:
    try:
        return release_path(rt, release_id).read_bytes()
    except FileNotFoundError:
        raise ExportNotFound(f"no release {release_id!r}") from None


async def place_preservation_hold(
    session: AsyncSession, *, rt: Runtime, actor: Principal, data: PreservationHoldCreate
) -> HoldRead:
    """Hold the live reads of the plates and window until the requester's deadline; one hold per
    request (its id is the request's), so a retry returns the hold already placed."""
    now = rt.now()
    if data.deadline <= now.date():
        raise InvalidHold("the preservation deadline must be a future date")
    hold = await session.get(ReadHold, data.request_id)
    if hold is None:
        lo, hi = _window(rt, data, now)
        rows = await repo.reads_in_scope(
            session,
            plates=_plates(data.plates),
            camera_ids=sorted(set(data.camera_ids)),
            lo=lo,
            hi=hi,
        )
        hold = ReadHold(
            id=data.request_id,
            case_number=data.case_number,
            category="criminal_investigation",
            reason=f"preservation request ({data.requester_type}): {data.reason}",
            retention_until=data.deadline,
            status="active",
            created_at=now,
            created_by=actor.subject,
            created_by_name=data.requester[:200],
        )
        session.add(hold)
        await session.flush()
        await hold_repo.add_hold_items(session, hold.id, rows, now)
        await emit(
            session,
            contract.HOLD_CREATED,
            actor=actor,
            data=contract.HoldCreatedData(
                hold_id=hold.id,
                category=hold.category,
                retention_until=hold.retention_until.isoformat(),
                read_ids=[str(r.read_id) for r in rows],
                read_count=len(rows),
                actor=actor.subject,
                # Gov. Code ch. 552 / GO 116 records processing: the records unit placed it.
                purpose="records_request",
                case_number=hold.case_number,
                reason=hold.reason,
                preservation_request_id=data.request_id,
                requester_type=data.requester_type,
            ),
        )
    count = (await hold_repo.hold_counts(session, [hold.id])).get(hold.id, 0)
    return HoldRead.model_validate({**hold.model_dump(), "read_count": count})
