"""The ingest's request dependencies: its runtime (settings, boundaries, image store, clock)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from alpr_common.db import utcnow
from alpr_common.groupcommit import GroupCommit
from alpr_ingest.errors import PurgePending
from alpr_ingest.geo import BoundaryIndex
from alpr_ingest.images import ImageStore
from alpr_ingest.repository.cameras import CameraSiteCache
from alpr_ingest.settings import IngestSettings


@dataclass
class Runtime:
    settings: IngestSettings
    boundaries: BoundaryIndex
    images: ImageStore
    # Injected so tests can replay vendor captures at the time they were taken.
    clock: Callable[[], datetime] = field(default=utcnow)
    # PostgreSQL: capture days whose reads partition exists (partitions.ensure's `known`).
    partition_days: set[date] = field(default_factory=set)
    # The read path's camera sites, per process (see CameraSiteCache).
    camera_sites: CameraSiteCache = field(default_factory=lambda: CameraSiteCache(2.0))
    # The process's group writer of fast-path messages (`writer.ReadWriter`), set by the app.
    writer: GroupCommit[Any, bool] | None = None
    # 344.4(d): set by the service's start-up until a purge has run since then (the database may
    # be a restored older state); while set, nothing that answers reads is served.
    purge_pending: bool = False

    @classmethod
    def from_settings(cls, settings: IngestSettings) -> Runtime:
        return cls(
            settings=settings,
            boundaries=BoundaryIndex.load(settings.boundary_file),
            images=ImageStore(settings.image_dir),
            camera_sites=CameraSiteCache(settings.camera_cache_seconds),
        )

    def now(self) -> datetime:
        return self.clock()


# Request dependencies that do no I/O are `async def` here and in every service: FastAPI runs a
# plain `def` dependency in a worker thread, a thread hop per request for a dictionary lookup.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

# After a restore a purge must run before any read is answered (344.4(d)).
PURGE_RETRY_AFTER_SECONDS = 5.0


async def require_purged(request: Request) -> None:
    runtime: Runtime = request.app.state.runtime
    if runtime.purge_pending:
        raise PurgePending(
            "reads are answered once the start-up purge has run (344.4(d)); retry shortly",
            extra={"clause": "344.4(d)"},
            retry_after=PURGE_RETRY_AFTER_SECONDS,
        )


PurgedSinceStart = Annotated[None, Depends(require_purged)]
# For whole routers (holds, releases): every route of theirs answers or copies reads.
PURGED_SINCE_START = Depends(require_purged)
