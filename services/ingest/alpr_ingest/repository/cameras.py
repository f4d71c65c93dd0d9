"""Queries of cameras, their vendor keys and placement reviews, and the camera resolution
of the read path."""

from __future__ import annotations

import asyncio
import math
import operator
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, bindparam, delete, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from alpr_common.pagination import Paged, PageParams, offset_page
from alpr_ingest.models import (
    Camera,
    CameraKey,
    PlacementReview,
)
from alpr_ingest.repository.reads import READS


async def get_camera(session: AsyncSession, camera_id: str) -> Camera | None:
    return await session.get(Camera, camera_id)


async def list_cameras(
    session: AsyncSession,
    *,
    status: str | None,
    camera_type: str | None,
    page: PageParams,
) -> Paged[Camera]:
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        conditions.append(col(Camera.status) == status)
    if camera_type is not None:
        conditions.append(col(Camera.camera_type) == camera_type)
    stmt = select(Camera).where(*conditions).order_by(Camera.id)
    return await offset_page(session, stmt, page=page)


async def all_cameras(session: AsyncSession) -> list[Camera]:
    return list((await session.execute(select(Camera).order_by(Camera.id))).scalars())


async def camera_keys(session: AsyncSession, camera_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(camera_ids)
    out: dict[str, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = await session.execute(
        select(col(CameraKey.camera_id), col(CameraKey.key))
        .where(col(CameraKey.camera_id).in_(ids))
        .order_by(CameraKey.key)
    )
    for camera_id, key in rows:
        out[camera_id].append(key)
    return out


async def keys_taken(
    session: AsyncSession, keys: Sequence[str], *, exclude_camera: str | None
) -> list[tuple[str, str]]:
    """(key, camera_id) for keys already mapped to another camera, or equal to a camera id."""
    if not keys:
        return []
    rows = await session.execute(
        select(col(CameraKey.key), col(CameraKey.camera_id)).where(col(CameraKey.key).in_(keys))
    )
    taken = [(k, c) for k, c in rows if c != exclude_camera]
    ids = await session.execute(select(col(Camera.id)).where(col(Camera.id).in_(keys)))
    taken += [(i, i) for (i,) in ids if i != exclude_camera]
    return taken


async def replace_keys(
    session: AsyncSession, camera_id: str, keys: Sequence[str], now: datetime
) -> None:
    await session.execute(delete(CameraKey).where(col(CameraKey.camera_id) == camera_id))
    for key in dict.fromkeys(keys):
        session.add(CameraKey(key=key, camera_id=camera_id, created_at=now))
    await session.flush()


async def latest_reviews(
    session: AsyncSession, camera_ids: Iterable[str]
) -> dict[str, PlacementReview]:
    ids = list(camera_ids)
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(PlacementReview)
            .where(col(PlacementReview.camera_id).in_(ids))
            .order_by(col(PlacementReview.recorded_at), PlacementReview.id)
        )
    ).scalars()
    return {r.camera_id: r for r in rows}


async def list_reviews(session: AsyncSession, camera_id: str) -> list[PlacementReview]:
    rows = await session.execute(
        select(PlacementReview)
        .where(col(PlacementReview.camera_id) == camera_id)
        .order_by(col(PlacementReview.recorded_at).desc(), PlacementReview.id)
    )
    return list(rows.scalars())


class CameraSite(NamedTuple):
    """What the read path needs of a camera: read as plain rows, not ORM objects (a batch
    consults its camera for every read, and an ORM attribute costs more than the check)."""

    id: str
    camera_type: str
    status: str
    lat: float | None
    lon: float | None
    zip_code: str | None
    sector: str | None


_C = TypeVar("_C", Camera, CameraSite)


def _camera_lookups(*what: Any) -> tuple[Any, Any]:
    """`what` of the cameras whose id is in :refs, and (key, `what`) of those mapped from a
    vendor key in :refs. Built once (every read batch resolves its cameras; building a
    statement cost more than running it)."""
    by_id = select(*what).where(col(Camera.id).in_(bindparam("refs", expanding=True)))
    by_key = (
        select(col(CameraKey.key), *what)
        .join(Camera, col(Camera.id) == CameraKey.camera_id)
        .where(col(CameraKey.key).in_(bindparam("refs", expanding=True)))
    )
    return by_id, by_key


async def _resolve(
    session: AsyncSession,
    refs: Iterable[str],
    lookups: tuple[Any, Any],
    make: Callable[[Sequence[Any]], _C],
) -> dict[str, _C]:
    """Camera references (our ids or vendor keys) to what `make` builds from a lookup's row;
    unknown references are absent."""
    wanted = list(set(refs))
    if not wanted:
        return {}
    by_id, by_key = lookups
    found: dict[str, _C] = {}
    for row in await session.execute(by_id, {"refs": wanted}):
        item = make(row)
        found[item.id] = item
    rest = [r for r in wanted if r not in found]
    if rest:
        for key, *values in await session.execute(by_key, {"refs": rest}):
            found[key] = make(values)
    return found


_CAMERAS = _camera_lookups(Camera)
_SITES = _camera_lookups(*(Camera.__table__.c[name] for name in CameraSite._fields))


async def resolve_cameras(session: AsyncSession, refs: Iterable[str]) -> dict[str, Camera]:
    """Camera references (our ids or vendor keys) to cameras, as ORM objects to change."""
    return await _resolve(session, refs, _CAMERAS, operator.itemgetter(0))


async def camera_sites(session: AsyncSession, refs: Iterable[str]) -> dict[str, CameraSite]:
    """Camera references to their sites, for the read path."""
    return await _resolve(session, refs, _SITES, lambda values: CameraSite(*values))


# Bumped by every commit that changed a camera or a vendor key in this process: the caches
# below drop what they hold when they see it move.
_generation = 0
_CHANGED = "alpr.ingest.cameras_changed"


@event.listens_for(Session, "after_flush")
def _note_camera_change(session: Session, _context: Any) -> None:
    if any(
        isinstance(o, Camera | CameraKey) for o in (*session.new, *session.dirty, *session.deleted)
    ):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _bump_generation(session: Session) -> None:
    global _generation
    if session.info.pop(_CHANGED, False):
        _generation += 1


@event.listens_for(Session, "after_soft_rollback")
def _forget_change(session: Session, _previous: Any) -> None:
    session.info.pop(_CHANGED, None)


SiteFetch = Callable[[list[str]], Awaitable[dict[str, CameraSite]]]


class CameraSiteCache:
    """`camera_sites` kept per process, for the read path: a camera posting reads is resolved
    without a query. A change committed in this process clears it at once; one committed by
    another process (another worker, a CLI command) is seen within `ttl_seconds` (the cameras'
    status and site, as the principals' live status, `<SVC>_STATUS_CACHE_SECONDS`). Unknown
    references are never cached: a camera registered a moment ago is found at once.

    Every site held is read again in one lookup: a fleet of cameras costs one query per
    `ttl_seconds`, not one per camera (dropping them all made each of a few hundred cameras look
    itself up again, on connections the pool opened for it). The first request after half the
    time starts that lookup and goes on with the sites held; only once `ttl_seconds` have passed
    since the last lookup began do requests wait for one (none is served from a site older than
    that). A fleet in steady use never waits: before, every post stalled together each time the
    time was up, as long as the lookup took, and at 1,000 posts/s on two cores the queue of that
    moment took a few hundred milliseconds to drain. A lookup ahead that fails is not tried
    again before the time is up.
    """

    REFRESH_AT = 0.5  # of the time to live

    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._sites: dict[str, CameraSite] = {}
        self._generation = _generation
        self._fetched_at = -math.inf  # when the lookup behind the sites held began
        self._refresh: asyncio.Task[None] | None = None
        self._refresh_failed_at: float | None = None  # `_fetched_at` whose refresh ahead failed
        self.lookups = 0  # lookups made (misses and refreshes), for the tests

    async def sites(self, refs: Iterable[str], fetch: SiteFetch) -> dict[str, CameraSite]:
        """The sites of `refs` (unknown references absent), looked up with `fetch` (references
        to the sites found) where the cache cannot answer."""
        now = self.clock()
        if self._generation != _generation:
            self._sites.clear()
            self._generation = _generation
            self._fetched_at = now
        elif not self._sites:
            self._fetched_at = now
        elif now - self._fetched_at >= self.ttl:
            await asyncio.shield(self._start_refresh(fetch, now))
        elif (
            now - self._fetched_at >= self.ttl * self.REFRESH_AT
            and self._refresh_failed_at != self._fetched_at
        ):
            self._start_refresh(fetch, now)
        found: dict[str, CameraSite] = {}
        missing: list[str] = []
        for ref in refs:
            site = self._sites.get(ref)
            if site is None:
                missing.append(ref)
            else:
                found[ref] = site
        if missing:
            generation = _generation
            self.lookups += 1
            fetched = await fetch(missing)
            if (
                generation == _generation == self._generation
                and len(self._sites) < self.max_entries
            ):
                self._sites.update(fetched)
            found.update(fetched)
        return found

    def _start_refresh(self, fetch: SiteFetch, now: float) -> asyncio.Task[None]:
        """The lookup of every site held that is under way, or a new one."""
        loop = asyncio.get_running_loop()
        task = self._refresh
        if task is None or task.done() or task.get_loop() is not loop:
            task = self._refresh = loop.create_task(self._refetch(fetch, now))
            task.add_done_callback(self._refreshed)
        return task

    async def _refetch(self, fetch: SiteFetch, began: float) -> None:
        generation, replacing = _generation, self._fetched_at
        self.lookups += 1
        try:
            fetched = await fetch(list(self._sites))
        except BaseException:
            self._refresh_failed_at = replacing
            raise
        if generation == _generation == self._generation:
            self._sites = fetched  # cameras gone or keys moved meanwhile drop out
            self._fetched_at = began
        else:
            self._sites = {}
            self._generation = _generation
            self._fetched_at = self.clock()

    def _refreshed(self, task: asyncio.Task[None]) -> None:
        if self._refresh is task:
            self._refresh = None
        if not task.cancelled():
            task.exception()  # its waiters have it; a failed refresh is tried again next time


async def last_read_times(
    session: AsyncSession, camera_ids: Sequence[str], *, since: datetime
) -> dict[str, datetime]:
    if not camera_ids:
        return {}
    rows = await session.execute(
        select(READS.c.camera_id, func.max(READS.c.captured_at))
        .where(READS.c.camera_id.in_(camera_ids), READS.c.captured_at >= since)
        .group_by(READS.c.camera_id)
    )
    return {camera_id: at for camera_id, at in rows if at is not None}


async def cameras_read_since(session: AsyncSession, since: datetime) -> set[str]:
    """The cameras with a read captured at or after `since` (only recent rows are scanned)."""
    rows = await session.execute(
        select(READS.c.camera_id).where(READS.c.captured_at >= since).distinct()
    )
    return {camera_id for (camera_id,) in rows}
