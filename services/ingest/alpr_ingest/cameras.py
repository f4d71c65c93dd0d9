"""Cameras (344.2(a)), their placement reviews (344.3.2(c)) and health (344.3.1(b))."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from prometheus_client.core import Metric
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts import ingest as contract
from alpr_common.contracts.ingest import CameraSnapshotData
from alpr_common.metrics import gauge
from alpr_common.pagination import Page, PageParams, list_page
from alpr_common.roles import Role
from alpr_ingest.adapters import Heartbeat
from alpr_ingest.deps import Runtime
from alpr_ingest.errors import (
    CameraConflict,
    CameraNotFound,
    CameraStateConflict,
    InvalidCamera,
)
from alpr_ingest.events import emit
from alpr_ingest.models import Camera, PlacementReview
from alpr_ingest.repository import cameras as repo
from alpr_ingest.repository.cameras import CameraSite
from alpr_ingest.schemas import (
    CameraCreate,
    CameraRead,
    CameraStatusRead,
    CameraUpdate,
    PlacementReviewCreate,
    PlacementReviewRead,
    Position,
)

PLACED_TYPES = frozenset({"fixed", "trailer"})


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}" if prefix else uuid.uuid4().hex


def _position(lat: float | None, lon: float | None) -> Position | None:
    return Position(lat=lat, lon=lon) if lat is not None and lon is not None else None


def review_read(review: PlacementReview) -> PlacementReviewRead:
    return PlacementReviewRead(
        id=review.id,
        camera_id=review.camera_id,
        reviewer=review.reviewer,
        reviewed_on=review.reviewed_on,
        approved=review.approved,
        notes=review.notes,
        location=_position(review.lat, review.lon),
        zip_code=review.zip_code,
        sector=review.sector,
        recorded_at=review.recorded_at,
        recorded_by=review.recorded_by,
    )


def camera_read(camera: Camera, keys: list[str], review: PlacementReview | None) -> CameraRead:
    return CameraRead(
        id=camera.id,
        name=camera.name,
        vendor=camera.vendor,
        camera_type=camera.camera_type,
        status=camera.status,
        location=_position(camera.lat, camera.lon),
        address=camera.address,
        zip_code=camera.zip_code,
        sector=camera.sector,
        vendor_keys=keys,
        notes=camera.notes,
        created_at=camera.created_at,
        created_by=camera.created_by,
        updated_at=camera.updated_at,
        updated_by=camera.updated_by,
        activated_at=camera.activated_at,
        retired_at=camera.retired_at,
        last_heartbeat_at=camera.last_heartbeat_at,
        streaming=camera.streaming,
        placement_review=review_read(review) if review else None,
    )


def camera_snapshot(camera: Camera, keys: list[str], *, actor: str) -> CameraSnapshotData:
    """What audit keeps about a camera (equity reports, 344.3.2(c); item 9 of 344.6(b))."""
    return CameraSnapshotData(
        camera_id=camera.id,
        name=camera.name,
        vendor=camera.vendor,
        camera_type=camera.camera_type,
        status=camera.status,
        lat=camera.lat,
        lon=camera.lon,
        zip_code=camera.zip_code,
        sector=camera.sector,
        vendor_keys=keys,
        actor=actor,
    )


async def _camera_out(session: AsyncSession, camera: Camera) -> CameraRead:
    keys = (await repo.camera_keys(session, [camera.id]))[camera.id]
    review = (await repo.latest_reviews(session, [camera.id])).get(camera.id)
    return camera_read(camera, keys, review)


async def _check_keys(session: AsyncSession, keys: list[str], *, camera_id: str) -> list[str]:
    unique = list(dict.fromkeys(keys))
    if camera_id in unique:
        unique.remove(camera_id)  # the id itself always maps to the camera
    taken = await repo.keys_taken(session, unique, exclude_camera=camera_id)
    if taken:
        key, other = taken[0]
        raise CameraConflict(
            f"vendor key {key!r} already belongs to camera {other!r}; retire or update that "
            "camera first"
        )
    return unique


def _place(
    rt: Runtime,
    camera_type: str,
    position: Position | None,
    zip_code: str | None,
    sector: str | None,
) -> tuple[str | None, str | None]:
    """Zip code and sector of a placed camera, from the request or the boundary file."""
    if camera_type not in PLACED_TYPES:
        return zip_code, sector
    if position is None:
        raise InvalidCamera(
            f"a {camera_type} camera needs a location (latitude and longitude) (344.2(a))"
        )
    if zip_code is None or sector is None:
        found_zip, found_sector = rt.boundaries.locate(position.lat, position.lon)
        zip_code = zip_code or found_zip
        sector = sector or found_sector
    if camera_type == "fixed" and (zip_code is None or sector is None):
        raise InvalidCamera(
            "a fixed camera carries a zip code and a sector (344.3.2(c)): give them, or place "
            "the camera inside the configured boundary file"
        )
    return zip_code, sector


def _review_matches(review: PlacementReview | None, camera: Camera) -> bool:
    return (
        review is not None
        and review.approved
        and review.lat == camera.lat
        and review.lon == camera.lon
    )


async def _add_review(
    session: AsyncSession,
    *,
    camera: Camera,
    data: PlacementReviewCreate,
    actor: Principal,
    now: datetime,
) -> PlacementReview:
    review = PlacementReview(
        id=new_id(),
        camera_id=camera.id,
        reviewer=data.reviewer,
        reviewed_on=data.reviewed_on,
        approved=data.approved,
        notes=data.notes,
        lat=camera.lat,
        lon=camera.lon,
        zip_code=camera.zip_code,
        sector=camera.sector,
        recorded_at=now,
        recorded_by=actor.subject,
    )
    session.add(review)
    await session.flush()
    await emit(
        session,
        contract.PLACEMENT_REVIEW_RECORDED,
        actor=actor,
        data=contract.PlacementReviewData(
            camera_id=camera.id,
            review_id=review.id,
            reviewer=review.reviewer,
            reviewed_on=review.reviewed_on.isoformat(),
            approved=review.approved,
            notes=review.notes,
            zip_code=review.zip_code,
            sector=review.sector,
            lat=review.lat,
            lon=review.lon,
            actor=actor.subject,
        ),
    )
    return review


async def create_camera(
    session: AsyncSession, *, rt: Runtime, actor: Principal, data: CameraCreate
) -> CameraRead:
    now = rt.now()
    camera_id = data.id or new_id("cam-")
    if await repo.get_camera(session, camera_id) is not None:
        raise CameraConflict(f"camera {camera_id!r} is already registered")
    keys = await _check_keys(session, data.vendor_keys, camera_id=camera_id)
    zip_code, sector = _place(rt, data.camera_type, data.location, data.zip_code, data.sector)
    camera = Camera(
        id=camera_id,
        name=data.name,
        vendor=data.vendor,
        camera_type=data.camera_type,
        # 344.3.2(c): a permanent camera waits for its placement review.
        status="pending" if data.camera_type == "fixed" else "active",
        lat=data.location.lat if data.location else None,
        lon=data.location.lon if data.location else None,
        address=data.address,
        zip_code=zip_code,
        sector=sector,
        notes=data.notes,
        created_at=now,
        created_by=actor.subject,
        updated_at=now,
        updated_by=actor.subject,
        activated_at=None if data.camera_type == "fixed" else now,
    )
    session.add(camera)
    await session.flush()
    await repo.replace_keys(session, camera_id, keys, now)
    await emit(
        session,
        contract.CAMERA_REGISTERED,
        actor=actor,
        data=camera_snapshot(camera, keys, actor=actor.subject),
    )
    if data.placement_review is not None:
        review = await _add_review(
            session, camera=camera, data=data.placement_review, actor=actor, now=now
        )
        if camera.camera_type == "fixed" and review.approved:
            await _set_status(session, camera, "active", actor=actor, now=now)
    return await _camera_out(session, camera)


async def _set_status(
    session: AsyncSession, camera: Camera, status: str, *, actor: Principal, now: datetime
) -> None:
    if camera.status == status:
        return
    previous = camera.status
    camera.status = status
    camera.updated_at = now
    camera.updated_by = actor.subject
    if status == "active":
        camera.activated_at = now
    await session.flush()
    await emit(
        session,
        contract.CAMERA_STATUS_CHANGED,
        actor=actor,
        data=contract.CameraStatusChangedData(
            camera_id=camera.id,
            camera_type=camera.camera_type,
            from_status=previous,
            to_status=status,
            actor=actor.subject,
        ),
    )


async def load_camera(session: AsyncSession, camera_id: str) -> Camera:
    camera = await repo.get_camera(session, camera_id)
    if camera is None:
        raise CameraNotFound(f"no camera {camera_id!r}")
    return camera


async def get_camera(session: AsyncSession, camera_id: str) -> CameraRead:
    return await _camera_out(session, await load_camera(session, camera_id))


async def list_cameras(
    session: AsyncSession, *, status: str | None, camera_type: str | None, page: PageParams
) -> Page[CameraRead]:
    cameras, more, total = await repo.list_cameras(
        session, status=status, camera_type=camera_type, page=page
    )
    ids = [c.id for c in cameras]
    keys = await repo.camera_keys(session, ids)
    reviews = await repo.latest_reviews(session, ids)
    return page.answer(
        [camera_read(c, keys[c.id], reviews.get(c.id)) for c in cameras], more, total
    )


async def update_camera(
    session: AsyncSession, *, rt: Runtime, actor: Principal, camera_id: str, data: CameraUpdate
) -> CameraRead:
    now = rt.now()
    camera = await load_camera(session, camera_id)
    if camera.status == "retired":
        raise CameraStateConflict(f"camera {camera_id!r} is retired; register a new camera")
    fields = data.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("name", "address", "notes"):
        if name in fields and getattr(data, name) is not None:
            changes[name] = getattr(data, name)
            setattr(camera, name, getattr(data, name))
    moved = False
    if "location" in fields or "zip_code" in fields or "sector" in fields:
        position = data.location if data.location is not None else _position(camera.lat, camera.lon)
        moved = data.location is not None and (
            data.location.lat != camera.lat or data.location.lon != camera.lon
        )
        zip_code = (
            data.zip_code if data.zip_code is not None else (None if moved else camera.zip_code)
        )
        sector = data.sector if data.sector is not None else (None if moved else camera.sector)
        zip_code, sector = _place(rt, camera.camera_type, position, zip_code, sector)
        if position is not None:
            camera.lat, camera.lon = position.lat, position.lon
        camera.zip_code, camera.sector = zip_code, sector
        changes.update(
            {"lat": camera.lat, "lon": camera.lon, "zip_code": zip_code, "sector": sector}
        )
    keys: list[str] | None = None
    if data.vendor_keys is not None:
        keys = await _check_keys(session, data.vendor_keys, camera_id=camera.id)
        await repo.replace_keys(session, camera.id, keys, now)
        changes["vendor_keys"] = keys
    camera.updated_at = now
    camera.updated_by = actor.subject
    await session.flush()
    if changes:
        await emit(
            session,
            contract.CAMERA_UPDATED,
            actor=actor,
            data=contract.CameraUpdatedData(
                camera_id=camera.id, changes=changes, actor=actor.subject
            ),
        )
    if moved and camera.camera_type == "fixed" and camera.status == "active":
        # 344.3.2(c): a permanent camera moved to a new site needs a new placement review.
        await _set_status(session, camera, "pending", actor=actor, now=now)
    if data.status is not None:
        if data.status == "active":
            await _activate(session, camera, actor=actor, now=now)
        elif camera.status != "inactive":
            await _set_status(session, camera, "inactive", actor=actor, now=now)
    return await _camera_out(session, camera)


async def _activate(
    session: AsyncSession, camera: Camera, *, actor: Principal, now: datetime
) -> None:
    if camera.camera_type == "fixed":
        review = (await repo.latest_reviews(session, [camera.id])).get(camera.id)
        if not _review_matches(review, camera):
            raise CameraStateConflict(
                f"fixed camera {camera.id!r} needs an approved placement review at its current "
                "location before it is activated (344.3.2(c)); record one at "
                f"POST /v1/ingest/cameras/{camera.id}/placement-reviews"
            )
    await _set_status(session, camera, "active", actor=actor, now=now)


async def record_review(
    session: AsyncSession,
    *,
    rt: Runtime,
    actor: Principal,
    camera_id: str,
    data: PlacementReviewCreate,
) -> PlacementReviewRead:
    now = rt.now()
    camera = await load_camera(session, camera_id)
    if camera.status == "retired":
        raise CameraStateConflict(f"camera {camera_id!r} is retired")
    review = await _add_review(session, camera=camera, data=data, actor=actor, now=now)
    if camera.camera_type == "fixed":
        if review.approved and camera.status == "pending":
            await _set_status(session, camera, "active", actor=actor, now=now)
        elif not review.approved and camera.status == "active":
            await _set_status(session, camera, "pending", actor=actor, now=now)
    return review_read(review)


async def list_reviews(session: AsyncSession, camera_id: str) -> list[PlacementReviewRead]:
    await load_camera(session, camera_id)
    return [review_read(r) for r in await repo.list_reviews(session, camera_id)]


async def retire_camera(
    session: AsyncSession, *, rt: Runtime, actor: Principal, camera_id: str
) -> CameraRead:
    now = rt.now()
    camera = await load_camera(session, camera_id)
    if camera.status == "retired":
        return await _camera_out(session, camera)
    keys = (await repo.camera_keys(session, [camera.id]))[camera.id]
    # Its vendor keys are freed for the replacement camera.
    await repo.replace_keys(session, camera.id, [], now)
    camera.retired_at = now
    await _set_status(session, camera, "retired", actor=actor, now=now)
    await emit(
        session,
        contract.CAMERA_RETIRED,
        actor=actor,
        data=camera_snapshot(camera, keys, actor=actor.subject),
    )
    return await _camera_out(session, camera)


# --- health (344.3.1(b)) ------------------------------------------------------------------------


async def camera_statuses(
    session: AsyncSession, *, rt: Runtime, stale_only: bool, page: PageParams
) -> Page[CameraStatusRead]:
    now = rt.now()
    cutoff = now - timedelta(minutes=rt.settings.stale_after_minutes)
    cameras = [c for c in await repo.all_cameras(session) if c.status != "retired"]
    last_reads = await repo.last_read_times(
        session,
        [c.id for c in cameras],
        since=now - timedelta(days=rt.settings.retention_days),
    )
    items = []
    for camera in cameras:
        last_read = last_reads.get(camera.id)
        seen = [t for t in (last_read, camera.last_heartbeat_at, camera.activated_at) if t]
        stale = camera.status == "active" and (not seen or max(seen) < cutoff)
        if stale_only and not stale:
            continue
        items.append(
            CameraStatusRead(
                camera_id=camera.id,
                name=camera.name,
                camera_type=camera.camera_type,
                status=camera.status,
                last_read_at=last_read,
                last_heartbeat_at=camera.last_heartbeat_at,
                streaming=camera.streaming,
                stale=stale,
            )
        )
    shown, more, total = list_page(items, page=page)
    return page.answer(shown, more, total)


async def health_metrics(app: FastAPI) -> list[Metric]:
    """Metrics probe (344.3.1(b)): cameras by status, and the active ones gone quiet: no read,
    heartbeat or activation within `stale_after_minutes` (the rule of `camera_statuses`). Only
    the recent reads are scanned, never the whole window."""
    rt: Runtime = app.state.runtime
    now = rt.now()
    cutoff = now - timedelta(minutes=rt.settings.stale_after_minutes)
    async with app.state.db.read_sessionmaker() as session:
        cameras = await repo.all_cameras(session)
        fresh = await repo.cameras_read_since(session, cutoff)
    by_status = Counter(c.status for c in cameras)
    stale = 0
    for camera in cameras:
        if camera.status != "active" or camera.id in fresh:
            continue
        seen = [t for t in (camera.last_heartbeat_at, camera.activated_at) if t]
        if not seen or max(seen) < cutoff:
            stale += 1
    return [
        gauge(
            "alpr_ingest_cameras",
            "Registered cameras by status.",
            [({"status": status}, n) for status, n in sorted(by_status.items())],
        ),
        gauge(
            "alpr_ingest_stale_cameras",
            "Active cameras with no read or heartbeat within INGEST_STALE_AFTER_MINUTES.",
            [({}, stale)],
        ),
    ]


def bound(principal: Principal, camera: Camera | CameraSite, ref: str) -> bool:
    """A camera client posts only for its own cameras (by our id or the key it posts under)."""
    if Role.CAMERA not in principal.roles or principal.kind != "machine":
        return True
    allowed = principal.cameras
    return camera.id in allowed or ref in allowed


async def apply_heartbeats(
    session: AsyncSession, *, principal: Principal, beats: list[Heartbeat], notes: list[str]
) -> int:
    """344.3.1(b): OpenALPR heartbeats (and Hikvision keep-alives) update camera health."""
    if not beats:
        return 0
    cameras = await repo.resolve_cameras(session, {b.camera for b in beats})
    applied = 0
    for beat in beats:
        camera = cameras.get(beat.camera)
        if camera is None or not bound(principal, camera, beat.camera):
            notes.append(f"heartbeat for camera key {beat.camera!r} that is not registered here")
            continue
        if camera.last_heartbeat_at is None or beat.at >= camera.last_heartbeat_at:
            camera.last_heartbeat_at = beat.at
            camera.streaming = beat.streaming
            camera.heartbeat = _clean_json(
                {
                    "source": beat.source,
                    "at": beat.at.isoformat(),
                    "camera_key": beat.camera,
                    "camera_label": beat.camera_label,
                    "fields": beat.fields,
                }
            )
        applied += 1
    await session.flush()
    return applied


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value
