"""Index maintenance: each replica holds a `PlateIndex` of every entry that can match, built
from the database at start-up and kept current by the `index` counter (models.Counter).

Every change to an entry stamps it with a new counter value in the same transaction, and the
counter's row lock orders those transactions, so a replica at version N has applied every change
up to N. Each read batch checks the version before matching (one cheap query), and a background
poll keeps idle replicas current, so several replicas agree on what matches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.db import Database, utcnow
from alpr_common.tasks import running_periodic
from alpr_hotlist import repository
from alpr_hotlist.alerts.index import PlateIndex
from alpr_hotlist.repository import INDEX_COUNTER
from alpr_hotlist.settings import HotlistSettings

log = logging.getLogger("alpr.hotlist.index")

# Expired entries already stop matching inside lookups; they are dropped this often to free memory.
EXPIRY_SWEEP_SECONDS = 300.0


class IndexKeeper:
    def __init__(self, settings: HotlistSettings) -> None:
        self.settings = settings
        self.index = PlateIndex()
        self.built = False
        self._lock = asyncio.Lock()
        self._last_sweep = time.monotonic()
        self.checked_at = 0.0  # monotonic time of the last version check

    @property
    def version(self) -> int:
        return self.index.version if self.built else -1

    async def current(self, session: AsyncSession) -> PlateIndex:
        """The index, brought up to the database's version first."""
        version = await repository.read_counter(session, INDEX_COUNTER)
        self.checked_at = time.monotonic()
        if self.built and version == self.index.version:
            return self.index
        async with self._lock:
            if not self.built or version < self.index.version:
                await self._rebuild(session, version)
            elif version > self.index.version:
                await self._apply(session, version)
        return self.index

    async def _rebuild(self, session: AsyncSession, version: int) -> None:
        started = time.perf_counter()
        fresh = PlateIndex()
        async for part in repository.stream_matching_entries(session, utcnow()):
            fresh.bulk_load(part)
        fresh.version = version
        self.index = fresh
        self.built = True
        log.info(
            "hot-list index built",
            extra={
                "entries": len(fresh),
                "version": version,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )

    async def _apply(self, session: AsyncSession, version: int) -> None:
        after = self.index.version
        if await repository.count_changed_entries(session, after, version) > (
            self.settings.index_rebuild_threshold
        ):
            await self._rebuild(session, version)
            return
        changes = await repository.changed_entries(session, after, version, utcnow())
        index = self.index
        for entry_id, plate, region, expires_at, matching in changes:
            if matching:
                index.add(entry_id, plate, region, expires_at)
            else:
                index.remove(entry_id)
        index.version = version
        if time.monotonic() - self._last_sweep > EXPIRY_SWEEP_SECONDS:
            self._last_sweep = time.monotonic()
            index.remove_expired(utcnow())

    async def refresh(self, db: Database) -> None:
        # Only reads: on SQLite it holds no write lock, however long a rebuild takes.
        async with db.read_sessionmaker() as session:
            try:
                await self.current(session)
            finally:
                await session.rollback()


@contextlib.asynccontextmanager
async def index_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the index before taking traffic (readiness waits for it), then poll the version."""
    keeper: IndexKeeper = app.state.index_keeper
    settings: HotlistSettings = app.state.settings

    if not settings.run_workers:
        # Built on the first read batch instead (tests, tools).
        yield
        return

    async def ready() -> str:
        return "ok" if keeper.built else "index not built"

    app.state.ready_checks["index"] = ready

    async def poll() -> None:
        # Read batches check the version themselves: under load the poll has nothing to add.
        if time.monotonic() - keeper.checked_at >= settings.index_poll_seconds:
            await keeper.refresh(app.state.db)

    async with running_periodic("hotlist-index", settings.index_poll_seconds, poll, logger=log):
        yield
