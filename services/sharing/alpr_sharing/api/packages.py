"""Release packages: built for approved requests, downloaded by the requester while the grant
lasts (with a declared purpose: they carry ALPR data), revocable at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from alpr_common.db import SessionDep
from alpr_common.pagination import PageDep
from alpr_common.purpose import PurposeDep
from alpr_sharing import packages
from alpr_sharing.api.common import errors
from alpr_sharing.auth import Downloader, GrantRevoker, PackageBuilder, PackageReader
from alpr_sharing.deps import PackageIdPath, RequestIdPath, UpstreamDep
from alpr_sharing.errors import (
    AgencySuspended,
    DependencyRefused,
    DependencyUnavailable,
    GrantGone,
    InvalidTransition,
    PackageNotFound,
    PolicyRefused,
    RequestNotFound,
)
from alpr_sharing.schemas import ID_PATTERN, PackageRead, Page, Revocation

router = APIRouter(prefix="/v1", tags=["packages"])


@router.post(
    "/sharing-requests/{request_id}/packages",
    response_model=PackageRead,
    status_code=201,
    responses=errors(
        RequestNotFound,
        InvalidTransition,
        AgencySuspended,
        DependencyRefused,
        DependencyUnavailable,
    ),
)
async def build_package(
    request_id: RequestIdPath, actor: PackageBuilder, session: SessionDep, up: UpstreamDep
) -> PackageRead:
    """Build the release package of an approved request through ingest and open its grant."""
    return await packages.build(session, up=up, actor=actor, request_id=request_id)


@router.get("/packages", response_model=Page[PackageRead], responses=errors())
async def list_packages(
    actor: PackageReader,
    session: SessionDep,
    page: PageDep,
    request_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> Page[PackageRead]:
    """Release packages, newest first (an agency client sees only its own agency's)."""
    return await packages.list_packages(session, actor=actor, request_id=request_id, page=page)


@router.get("/packages/{package_id}", response_model=PackageRead, responses=errors(PackageNotFound))
async def get_package(
    package_id: PackageIdPath, actor: PackageReader, session: SessionDep
) -> PackageRead:
    """One package: its manifest, grant and downloads count (no ALPR data)."""
    return await packages.get(session, actor=actor, package_id=package_id)


@router.get(
    "/packages/{package_id}/content",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The zip bundle"},
        **errors(
            PackageNotFound,
            GrantGone,
            PolicyRefused,
            DependencyRefused,
            DependencyUnavailable,
        ),
    },
)
async def download_package(
    package_id: PackageIdPath,
    actor: Downloader,
    purpose: PurposeDep,
    session: SessionDep,
    up: UpstreamDep,
) -> Response:
    """Download a package while its grant lasts; every download is logged."""
    package, bundle = await packages.download(
        session, up=up, actor=actor, purpose=purpose, package_id=package_id
    )
    return Response(
        bundle,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{package.file_name}"',
            "X-Bundle-SHA256": package.sha256,
        },
    )


@router.post(
    "/packages/{package_id}/revocations",
    response_model=PackageRead,
    responses=errors(PackageNotFound, InvalidTransition),
)
async def revoke_package(
    package_id: PackageIdPath, data: Revocation, actor: GrantRevoker, session: SessionDep
) -> PackageRead:
    """Revoke a package's download grant: refused from now on."""
    return await packages.revoke(session, actor=actor, package_id=package_id, data=data)
