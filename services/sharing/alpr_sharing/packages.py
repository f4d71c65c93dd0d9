"""Release packages (344.5): what an approved request releases, built by ingest from live reads
(only the named plates and window, only the fields the request needs, with a SHA-256 manifest),
downloaded by the requester for a limited time, every download logged; a grant can be revoked,
and a revoked or expired grant is refused at once."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.contracts import sharing as contract
from alpr_common.db import utcnow
from alpr_common.pagination import PageParams
from alpr_common.purpose import Purpose
from alpr_sharing import agencies, clients, events, requests
from alpr_sharing import repository as repo
from alpr_sharing.auth import agency_scope
from alpr_sharing.deps import Upstream
from alpr_sharing.errors import (
    DependencyRefused,
    GrantGone,
    InvalidTransition,
    PackageNotFound,
    PolicyRefused,
)
from alpr_sharing.models import Agency, PackageDownload, ReleasePackage, SharingRequest
from alpr_sharing.schemas import PackageRead, Page, Revocation


def state(package: ReleasePackage, now: datetime) -> str:
    if package.revoked_at is not None:
        return "revoked"
    if package.expires_at <= now:
        return "expired"
    return "available"


def read(package: ReleasePackage, now: datetime | None = None) -> PackageRead:
    return PackageRead.model_validate(
        {
            **package.model_dump(),
            "state": state(package, now or utcnow()),
        }
    )


async def build(
    session: AsyncSession, *, up: Upstream, actor: Principal, request_id: str
) -> PackageRead:
    """Build the package of an approved request through ingest, and open its grant."""
    request = await requests.load_for(session, actor=actor, request_id=request_id)
    if request.kind == "preservation":
        raise InvalidTransition("a preservation request is fulfilled by a hold, not a package")
    if request.status != "approved":
        raise InvalidTransition(
            f"request {request.id!r} is {request.status}; a package is built for an approved "
            "request"
        )
    agency = await requests.agency_of(session, request)
    if agency is not None:
        agencies.require_active(agency)
    package_id = uuid.uuid4().hex
    built = await clients.build_release(
        up,
        {
            "release_id": package_id,
            "request_id": request.id,
            "case_number": request.case_number,
            "plates": request.plates,
            "camera_ids": request.camera_ids,
            "since": request.since.isoformat(),
            "until": request.until.isoformat(),
            "fields": request.fields,
        },
    )
    now = utcnow()
    package = ReleasePackage(
        id=package_id,
        request_id=request.id,
        agency_id=request.agency_id,
        read_count=int(built["read_count"]),
        sha256=str(built["sha256"]),
        bytes=int(built["bytes"]),
        manifest=dict(built["manifest"]),
        file_name=f"release-{(request.case_number or request.id).replace('/', '-')}-"
        f"{package_id[:8]}.zip",
        created_at=now,
        created_by=actor.subject,
        expires_at=now + timedelta(hours=up.settings.grant_hours),
    )
    session.add(package)
    await session.flush()
    await requests.mark_fulfilled(
        session, actor=actor, request=request, note=f"package {package_id}"
    )
    await events.emit(
        session,
        contract.PACKAGE_RELEASED,
        actor=actor,
        data=contract.PackageReleasedData(
            **events.step(request, agency),
            package_id=package.id,
            read_count=package.read_count,
            sha256=package.sha256,
            expires_at=package.expires_at.isoformat(),
            fields=list(request.fields),
        ),
    )
    return read(package, now)


async def load_for(session: AsyncSession, *, actor: Principal, package_id: str) -> ReleasePackage:
    """The package, if the caller may see it (another agency's is 404)."""
    package = await session.get(ReleasePackage, package_id)
    scope = agency_scope(actor)
    if package is None or (scope is not None and package.agency_id != scope):
        raise PackageNotFound(f"no release package {package_id!r}")
    return package


async def get(session: AsyncSession, *, actor: Principal, package_id: str) -> PackageRead:
    return read(await load_for(session, actor=actor, package_id=package_id))


async def list_packages(
    session: AsyncSession,
    *,
    actor: Principal,
    request_id: str | None,
    page: PageParams,
) -> Page[PackageRead]:
    rows, more, total = await repo.list_packages(
        session, agency_id=agency_scope(actor), request_id=request_id, page=page
    )
    now = utcnow()
    return page.answer([read(p, now) for p in rows], more, total)


async def download(
    session: AsyncSession, *, up: Upstream, actor: Principal, purpose: Purpose, package_id: str
) -> tuple[ReleasePackage, bytes]:
    """The bundle, to the requester, while the grant lasts; the download is logged."""
    package = await load_for(session, actor=actor, package_id=package_id)
    request = await session.get(SharingRequest, package.request_id)
    assert request is not None
    agency = await requests.agency_of(session, request)
    if agency is not None:
        agencies.require_active(agency)
    now = utcnow()
    current = state(package, now)
    if current != "available":
        ended = "revoked" if current == "revoked" else f"open until {package.expires_at}"
        raise GrantGone(
            f"the download grant of package {package.id!r} was {ended}; ask the records unit"
        )
    if request.case_number and purpose.case_number != request.case_number:
        raise PolicyRefused(
            "344.5(c)",
            f"the declared case (X-ALPR-Case {purpose.case_number!r}) is not the request's case: "
            "released data serves that specific case",
        )
    bundle = await clients.fetch_release(up, package.id)
    if hashlib.sha256(bundle).hexdigest() != package.sha256:
        raise DependencyRefused(
            f"the bundle of package {package.id!r} does not match its recorded SHA-256; it was "
            "not released: report this to the CSO"
        )
    package.download_count += 1
    session.add(
        PackageDownload(
            id=uuid.uuid4().hex,
            package_id=package.id,
            downloaded_at=now,
            downloaded_by=actor.subject,
            downloaded_by_name=actor.name,
            purpose=purpose.as_log(),
        )
    )
    await session.flush()
    await events.emit(
        session,
        contract.PACKAGE_DOWNLOADED,
        actor=actor,
        data=contract.PackageDownloadedData(
            **events.step(request, agency),
            package_id=package.id,
            sha256=package.sha256,
            purpose=purpose.code.value,
            reason=purpose.reason,
        ),
    )
    return package, bundle


async def _revoke(
    session: AsyncSession,
    *,
    actor: Principal,
    package: ReleasePackage,
    request: SharingRequest,
    agency: Agency | None,
    reason: str,
    now: datetime,
) -> None:
    package.revoked_at = now
    package.revoked_by = actor.subject
    package.revoke_reason = reason
    await session.flush()
    await events.emit(
        session,
        contract.GRANT_REVOKED,
        actor=actor,
        data=contract.GrantRevokedData(
            **events.step(request, agency), package_id=package.id, reason=reason
        ),
    )


async def revoke(
    session: AsyncSession, *, actor: Principal, package_id: str, data: Revocation
) -> PackageRead:
    package = await load_for(session, actor=actor, package_id=package_id)
    if package.revoked_at is not None:
        raise InvalidTransition(f"package {package.id!r} is already revoked")
    request = await session.get(SharingRequest, package.request_id)
    assert request is not None
    now = utcnow()
    await _revoke(
        session,
        actor=actor,
        package=package,
        request=request,
        agency=await requests.agency_of(session, request),
        reason=data.reason,
        now=now,
    )
    return read(package, now)


async def revoke_live(
    session: AsyncSession, *, actor: Principal, agency: Agency, reason: str
) -> list[str]:
    """Revoke every live grant of an agency (a suspension, 344.4(b)); return their ids."""
    now = utcnow()
    revoked = []
    for package in await repo.live_packages(session, agency_id=agency.id, now=now):
        request = await session.get(SharingRequest, package.request_id)
        assert request is not None
        await _revoke(
            session,
            actor=actor,
            package=package,
            request=request,
            agency=agency,
            reason=reason,
            now=now,
        )
        revoked.append(package.id)
    return revoked
