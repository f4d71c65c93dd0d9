"""Internal routes for the sharing service: release packages and preservation holds (344.5,
344.6(b)4). Only the `service` role may call them, so the gateway never exposes them: people and
agencies reach released data through sharing, which checks the request, grant and purpose."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from alpr_common.db import SessionDep
from alpr_common.errors import responses
from alpr_ingest import releases
from alpr_ingest.auth import Service
from alpr_ingest.deps import PURGED_SINCE_START, RuntimeDep
from alpr_ingest.errors import ExportNotFound, InvalidHold
from alpr_ingest.releases import PreservationHoldCreate, ReleaseCreate, ReleaseRead
from alpr_ingest.schemas import HoldRead

router = APIRouter(prefix="/v1", dependencies=[PURGED_SINCE_START], tags=["internal"])

ReleaseIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The release's id")]


@router.post(
    "/releases",
    response_model=ReleaseRead,
    status_code=201,
    responses=responses(InvalidHold),
)
async def build_release(
    data: ReleaseCreate, actor: Service, session: SessionDep, rt: RuntimeDep
) -> ReleaseRead:
    """Internal: build the release bundle of an approved sharing request (once per id)."""
    return await releases.build_release(session, rt=rt, actor=actor, data=data)


@router.get(
    "/releases/{release_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The zip bundle"},
        **responses(ExportNotFound),
    },
)
async def fetch_release(release_id: ReleaseIdPath, _caller: Service, rt: RuntimeDep) -> Response:
    """Internal: the bytes of a release bundle, for sharing to hand to its requester."""
    return Response(
        releases.release_bundle(rt=rt, release_id=release_id), media_type="application/zip"
    )


@router.post(
    "/preservation-holds",
    response_model=HoldRead,
    status_code=201,
    responses=responses(InvalidHold),
)
async def place_preservation_hold(
    data: PreservationHoldCreate, actor: Service, session: SessionDep, rt: RuntimeDep
) -> HoldRead:
    """Internal: hold the reads of a preservation request's plates and window (344.6(b)4)."""
    return await releases.place_preservation_hold(session, rt=rt, actor=actor, data=data)
