"""The ingest's request dependencies: its runtime (settings, boundaries, image store, clock)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from alpr_common.db import utcnow
from alpr_common.groupcommit import GroupCommit
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
    # The process's group writer of fast-path messages (`reads.ReadWriter`), set by the app.
    writer: GroupCommit[Any, bool] | None = None

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
