"""Cameras (344.2(a)), placement reviews (344.3.2(c)), health and equipment problems
(344.3.1(b))."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from alpr_common.db import SessionDep
from alpr_common.errors import responses
from alpr_common.pagination import Page, PageDep
from alpr_ingest import cameras, problems
from alpr_ingest.auth import (
    CameraAdmin,
    CameraReader,
    ChiefSecurityOfficer,
    HealthReader,
    PlacementReviewer,
    ProblemReporter,
)
from alpr_ingest.deps import RuntimeDep
from alpr_ingest.errors import (
    CameraConflict,
    CameraNotFound,
    CameraStateConflict,
    InvalidCamera,
    InvalidProblem,
    ProblemNotFound,
)
from alpr_ingest.schemas import (
    CAMERA_ID_PATTERN,
    CameraCreate,
    CameraRead,
    CameraStatus,
    CameraStatusRead,
    CameraType,
    CameraUpdate,
    EquipmentProblemCreate,
    EquipmentProblemRead,
    EquipmentProblemUpdate,
    PlacementReviewCreate,
    PlacementReviewRead,
)

router = APIRouter(prefix="/v1")

CameraIdPath = Annotated[str, Path(pattern=CAMERA_ID_PATTERN, description="The camera's id")]
ProblemIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@router.post(
    "/cameras",
    response_model=CameraRead,
    status_code=201,
    tags=["cameras"],
    responses=responses(CameraConflict, InvalidCamera),
)
async def register_camera(
    data: CameraCreate, actor: CameraAdmin, session: SessionDep, rt: RuntimeDep
) -> CameraRead:
    """Register a camera; a fixed one stays pending until an approved placement review."""
    return await cameras.create_camera(session, rt=rt, actor=actor, data=data)


@router.get("/cameras", response_model=Page[CameraRead], tags=["cameras"])
async def list_cameras(
    _reader: CameraReader,
    session: SessionDep,
    page: PageDep,
    status: CameraStatus | None = None,
    camera_type: CameraType | None = None,
) -> Page[CameraRead]:
    """List registered cameras, optionally by status and type."""
    return await cameras.list_cameras(session, status=status, camera_type=camera_type, page=page)


@router.get(
    "/cameras/{camera_id}",
    response_model=CameraRead,
    tags=["cameras"],
    responses=responses(CameraNotFound),
)
async def read_camera(
    camera_id: CameraIdPath, _reader: CameraReader, session: SessionDep
) -> CameraRead:
    """One camera with its vendor keys and latest placement review."""
    return await cameras.get_camera(session, camera_id)


@router.patch(
    "/cameras/{camera_id}",
    response_model=CameraRead,
    tags=["cameras"],
    responses=responses(CameraNotFound, CameraConflict, CameraStateConflict, InvalidCamera),
)
async def update_camera(
    camera_id: CameraIdPath,
    data: CameraUpdate,
    actor: CameraAdmin,
    session: SessionDep,
    rt: RuntimeDep,
) -> CameraRead:
    """Update a camera; moving a fixed camera needs a new placement review."""
    return await cameras.update_camera(session, rt=rt, actor=actor, camera_id=camera_id, data=data)


@router.delete(
    "/cameras/{camera_id}",
    response_model=CameraRead,
    tags=["cameras"],
    responses=responses(CameraNotFound),
)
async def retire_camera(
    camera_id: CameraIdPath, actor: CameraAdmin, session: SessionDep, rt: RuntimeDep
) -> CameraRead:
    """Retire a camera: it posts no more reads and its vendor keys are freed."""
    return await cameras.retire_camera(session, rt=rt, actor=actor, camera_id=camera_id)


@router.post(
    "/cameras/{camera_id}/placement-reviews",
    response_model=PlacementReviewRead,
    status_code=201,
    tags=["cameras"],
    responses=responses(CameraNotFound, CameraStateConflict),
)
async def record_placement_review(
    camera_id: CameraIdPath,
    data: PlacementReviewCreate,
    actor: PlacementReviewer,
    session: SessionDep,
    rt: RuntimeDep,
) -> PlacementReviewRead:
    """Record a placement review (344.3.2(c)); an approved one activates a pending fixed camera."""
    return await cameras.record_review(session, rt=rt, actor=actor, camera_id=camera_id, data=data)


@router.get(
    "/cameras/{camera_id}/placement-reviews",
    response_model=list[PlacementReviewRead],
    tags=["cameras"],
    responses=responses(CameraNotFound),
)
async def list_placement_reviews(
    camera_id: CameraIdPath, _reader: CameraReader, session: SessionDep
) -> list[PlacementReviewRead]:
    """A camera's placement reviews, newest first."""
    return await cameras.list_reviews(session, camera_id)


@router.get("/camera-statuses", response_model=Page[CameraStatusRead], tags=["health"])
async def list_camera_statuses(
    _reader: HealthReader,
    session: SessionDep,
    rt: RuntimeDep,
    page: PageDep,
    stale: Annotated[bool, Query(description="Only stale cameras")] = False,
) -> Page[CameraStatusRead]:
    """Camera health: last read and heartbeat per camera, stale ones flagged (344.3.1(b))."""
    return await cameras.camera_statuses(session, rt=rt, stale_only=stale, page=page)


@router.post(
    "/equipment-problems",
    response_model=EquipmentProblemRead,
    status_code=201,
    tags=["health"],
    responses=responses(CameraNotFound),
)
async def report_equipment_problem(
    data: EquipmentProblemCreate, actor: ProblemReporter, session: SessionDep, rt: RuntimeDep
) -> EquipmentProblemRead:
    """Report an ALPR equipment or program problem to the Chief Security Officer (344.3.1(b))."""
    return await problems.report_problem(session, rt=rt, actor=actor, data=data)


@router.get("/equipment-problems", response_model=Page[EquipmentProblemRead], tags=["health"])
async def list_equipment_problems(
    _cso: ChiefSecurityOfficer,
    session: SessionDep,
    page: PageDep,
    status: Literal["open", "acknowledged", "resolved"] | None = None,
) -> Page[EquipmentProblemRead]:
    """The Chief Security Officer's inbox of equipment-problem reports, newest first."""
    return await problems.list_problems(session, status=status, page=page)


@router.patch(
    "/equipment-problems/{problem_id}",
    response_model=EquipmentProblemRead,
    tags=["health"],
    responses=responses(ProblemNotFound, InvalidProblem),
)
async def update_equipment_problem(
    problem_id: ProblemIdPath,
    data: EquipmentProblemUpdate,
    actor: ChiefSecurityOfficer,
    session: SessionDep,
    rt: RuntimeDep,
) -> EquipmentProblemRead:
    """Acknowledge or resolve an equipment-problem report."""
    return await problems.update_problem(
        session, rt=rt, actor=actor, problem_id=problem_id, data=data
    )
