from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from alpr_common.app import ServiceSpec, build_app
from alpr_common.db import Database
from alpr_common.metrics import add_probe
from alpr_common.tasks import running_periodic
from alpr_ingest import cameras, models, purge, reads
from alpr_ingest.api import ROUTERS
from alpr_ingest.deps import Runtime
from alpr_ingest.settings import IngestSettings

log = logging.getLogger("alpr.ingest")


@contextlib.asynccontextmanager
async def maintenance(app: FastAPI) -> AsyncIterator[None]:
    """Partitions ahead at startup (PostgreSQL); in dev, also the daily purge, in process (a
    Kubernetes CronJob runs `python -m alpr_ingest purge` in production)."""
    db: Database = app.state.db
    rt: Runtime = app.state.runtime
    try:
        await purge.run_maintenance(db, rt)
    except Exception:
        log.exception("creating partitions at startup failed; reads will create them on demand")
    if not rt.settings.maintenance_enabled:
        yield
        return

    async def run() -> None:
        await purge.run_purge(db, rt)

    async with running_periodic(
        "ingest-maintenance", rt.settings.maintenance_interval_seconds, run, logger=log
    ):
        yield


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
    app.state.runtime.writer = reads.ReadWriter(lambda: app.state.db)
    add_probe(app, purge.retention)
    add_probe(app, cameras.health_metrics)
    return app


SPEC = ServiceSpec(
    name="ingest",
    settings_cls=IngestSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
