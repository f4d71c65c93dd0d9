"""Investigation holds and case-file exports (344.4(e), (f))."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from alpr_common.db import SessionDep
from alpr_common.errors import responses
from alpr_common.pagination import Page, PageDep
from alpr_common.purpose import PurposeDep
from alpr_ingest import holds
from alpr_ingest.auth import HoldCreator, HoldManager, HoldReader
from alpr_ingest.deps import PURGED_SINCE_START, RuntimeDep
from alpr_ingest.errors import ExportNotFound, HoldConflict, HoldNotFound, InvalidHold
from alpr_ingest.schemas import (
    CASE_NUMBER_PATTERN,
    ExportCreate,
    ExportRead,
    HoldCreate,
    HoldDetail,
    HoldRead,
    HoldReadsAdd,
    HoldRelease,
    HoldReview,
)

router = APIRouter(prefix="/v1", dependencies=[PURGED_SINCE_START])

HoldIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The hold's id")]
ExportIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The export's id")]


@router.post(
    "/holds",
    response_model=HoldDetail,
    status_code=201,
    tags=["holds"],
    responses=responses(InvalidHold),
)
async def create_hold(
    data: HoldCreate,
    actor: HoldCreator,
    purpose: PurposeDep,
    session: SessionDep,
    rt: RuntimeDep,
) -> HoldDetail:
    """Hold specific reads for a case past the purge, until the retention date (344.4(f))."""
    return await holds.create_hold(session, rt=rt, actor=actor, purpose=purpose, data=data)


@router.get("/holds", response_model=Page[HoldRead], tags=["holds"])
async def list_holds(
    _reader: HoldReader,
    session: SessionDep,
    page: PageDep,
    status: Literal["active", "released", "expired"] | None = None,
    case_number: Annotated[str | None, Query(pattern=CASE_NUMBER_PATTERN)] = None,
) -> Page[HoldRead]:
    """List holds (no read data), newest first, by status or case number."""
    return await holds.list_holds(session, status=status, case_number=case_number, page=page)


@router.get(
    "/holds/{hold_id}",
    response_model=HoldDetail,
    tags=["holds"],
    responses=responses(HoldNotFound),
)
async def read_hold(
    hold_id: HoldIdPath,
    actor: HoldReader,
    purpose: PurposeDep,
    session: SessionDep,
    rt: RuntimeDep,
) -> HoldDetail:
    """A hold with its held reads, from the hold store; audited."""
    return await holds.get_hold(session, rt=rt, actor=actor, purpose=purpose, hold_id=hold_id)


@router.post(
    "/holds/{hold_id}/reads",
    response_model=HoldDetail,
    tags=["holds"],
    responses=responses(HoldNotFound, HoldConflict, InvalidHold),
)
async def add_held_reads(
    hold_id: HoldIdPath,
    data: HoldReadsAdd,
    actor: HoldCreator,
    purpose: PurposeDep,
    session: SessionDep,
    rt: RuntimeDep,
) -> HoldDetail:
    """Add reads of the same case to an active hold."""
    return await holds.add_reads(
        session, rt=rt, actor=actor, purpose=purpose, hold_id=hold_id, data=data
    )


@router.post(
    "/holds/{hold_id}/reviews",
    response_model=HoldRead,
    tags=["holds"],
    responses=responses(HoldNotFound, HoldConflict, InvalidHold),
)
async def review_hold(
    hold_id: HoldIdPath,
    data: HoldReview,
    actor: HoldManager,
    session: SessionDep,
    rt: RuntimeDep,
) -> HoldRead:
    """Record a review of a hold, optionally changing its retention date."""
    return await holds.review_hold(session, rt=rt, actor=actor, hold_id=hold_id, data=data)


@router.post(
    "/holds/{hold_id}/releases",
    response_model=HoldRead,
    tags=["holds"],
    responses=responses(HoldNotFound, HoldConflict),
)
async def release_hold(
    hold_id: HoldIdPath,
    data: HoldRelease,
    actor: HoldManager,
    session: SessionDep,
    rt: RuntimeDep,
) -> HoldRead:
    """Release a hold; its reads then follow the normal retention and purge."""
    return await holds.release_hold(session, rt=rt, actor=actor, hold_id=hold_id, data=data)


@router.post(
    "/holds/{hold_id}/exports",
    response_model=ExportRead,
    status_code=201,
    tags=["holds"],
    responses=responses(HoldNotFound, InvalidHold),
)
async def export_hold(
    hold_id: HoldIdPath,
    data: ExportCreate,
    actor: HoldCreator,
    purpose: PurposeDep,
    session: SessionDep,
    rt: RuntimeDep,
) -> ExportRead:
    """Export the held reads as a case file: zip with JSON, CSV, images, SHA-256 manifest."""
    return await holds.export_hold(
        session, rt=rt, actor=actor, purpose=purpose, hold_id=hold_id, data=data
    )


@router.get(
    "/holds/{hold_id}/exports",
    response_model=list[ExportRead],
    tags=["holds"],
    responses=responses(HoldNotFound),
)
async def list_hold_exports(
    hold_id: HoldIdPath, _reader: HoldReader, session: SessionDep
) -> list[ExportRead]:
    """The case-file exports of a hold, with their chain of custody."""
    return await holds.list_exports(session, hold_id=hold_id)


@router.get(
    "/case-exports/{export_id}/bundles",
    tags=["holds"],
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The zip bundle"},
        **responses(ExportNotFound, InvalidHold),
    },
)
async def download_case_export(
    export_id: ExportIdPath,
    actor: HoldCreator,
    purpose: PurposeDep,
    session: SessionDep,
    rt: RuntimeDep,
) -> Response:
    """Download a case-file bundle; the download joins its chain of custody."""
    export, bundle = await holds.download_export(
        session, rt=rt, actor=actor, purpose=purpose, export_id=export_id
    )
    return Response(
        bundle,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{export.file_name}"',
            "X-Bundle-SHA256": export.bundle_sha256,
        },
    )
