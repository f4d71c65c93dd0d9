from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from alpr_common.app import ServiceSpec, build_app
from alpr_common.db import Database
from alpr_common.metrics import add_probe
from alpr_common.tasks import periodic, running_periodic
from alpr_ingest import cameras, models, purge, writer
from alpr_ingest.api import ROUTERS
from alpr_ingest.deps import PURGE_RETRY_AFTER_SECONDS, Runtime
from alpr_ingest.settings import IngestSettings

log = logging.getLogger("alpr.ingest")


@contextlib.asynccontextmanager
async def maintenance(app: FastAPI) -> AsyncIterator[None]:
    """Partitions ahead at startup (PostgreSQL), then a purge before any read is answered (the
    database may be a restored older state: 344.4(d)); in dev, also the daily purge and the
    closed days' partial-plate index, in process (Kubernetes CronJobs run `python -m
    alpr_ingest purge` and `search-index` in production)."""
    db: Database = app.state.db
    rt: Runtime = app.state.runtime
    rt.purge_pending = rt.settings.purge_at_startup
    try:
        await purge.run_maintenance(db, rt)
    except Exception:
        log.exception("creating partitions at startup failed; reads will create them on demand")
    purged = asyncio.Event()

    async def run() -> None:
        await purge.run_purge(db, rt)
        if rt.purge_pending:
            rt.purge_pending = False
            log.info("start-up purge done; reads are answered")
        purged.set()
        if rt.settings.maintenance_enabled:
            # After the purge, which gates reads: a closed day's partial-plate index.
            await purge.index_search(db, now=rt.now())

    if not rt.settings.purge_at_startup and not rt.settings.maintenance_enabled:
        yield
        return
    if rt.settings.maintenance_enabled:

        def interval() -> float:
            if rt.purge_pending:
                return PURGE_RETRY_AFTER_SECONDS
            return rt.settings.maintenance_interval_seconds

        async with running_periodic("ingest-maintenance", interval, run, logger=log):
            yield
        return
    # Until it has succeeded once, retried every few seconds (PostgreSQL down at start-up).
    task = asyncio.create_task(
        periodic("ingest-startup-purge", PURGE_RETRY_AFTER_SECONDS, run, stop=purged, logger=log),
        name="ingest-startup-purge",
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def purge_ready(app: FastAPI) -> str:
    rt: Runtime = app.state.runtime
    return "waiting for the start-up purge (344.4(d))" if rt.purge_pending else "ok"


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    app = build_app(
        settings,
        title="ALPR ingest",
        description=(
            "Cameras, plate reads from every supported vendor, search with a declared purpose, "
            "the 30-day purge, investigation holds and case-file exports "
            "(GO 344.2(a), 344.3.1(b), 344.3.2(c), 344.4(a), 344.4(d)-(f))."
        ),
        routers=ROUTERS,
        # Ingest produces events (to hotlist and audit) and consumes none.
        outbox=models.OUTBOX,
        hooks=[maintenance],
    )
    app.state.runtime = Runtime.from_settings(settings)
    app.state.runtime.writer = writer.ReadWriter(
        lambda: app.state.db, linger=settings.group_linger_seconds
    )
    add_probe(app, purge.retention)
    add_probe(app, cameras.health_metrics)
    app.state.ready_checks["purge"] = functools.partial(purge_ready, app)
    return app


SPEC = ServiceSpec(
    name="ingest",
    settings_cls=IngestSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
