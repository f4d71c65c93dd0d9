"""The audit service: event intake into the hash-chained transaction log, its verification,
signed checkpoints, and auditors' reads (GO 344.4(d), 344.6(c))."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import intake, models, verification
from alpr_audit.api import ROUTERS
from alpr_audit.checkpoints import CheckpointStore
from alpr_audit.errors import ChainBroken
from alpr_audit.intake import handle_event
from alpr_audit.settings import AuditSettings
from alpr_common.app import ServiceSpec, build_app
from alpr_common.db import Database
from alpr_common.events import Event, EventBatchResult
from alpr_common.metrics import add_probe
from alpr_common.tasks import running_periodic

log = logging.getLogger("alpr.audit")


async def checkpoint_once(app: FastAPI) -> None:
    settings: AuditSettings = app.state.settings
    db: Database = app.state.db
    # Only reads the log (the checkpoint is a file): on SQLite intake keeps writing meanwhile.
    async with db.read_sessionmaker() as session:
        try:
            await verification.write_checkpoint(
                session, store=app.state.checkpoints, page_size=settings.verify_page_size
            )
        except ChainBroken as exc:
            log.error("checkpoint refused: %s", exc.detail)
        finally:
            await session.rollback()


@contextlib.asynccontextmanager
async def checkpoint_writer(app: FastAPI) -> AsyncIterator[None]:
    """Sign the chain head every `checkpoint_interval_seconds` while the service runs."""
    settings: AuditSettings = app.state.settings
    store: CheckpointStore = app.state.checkpoints
    store.signing_key()  # fail at startup, not at the first tick, when prod has no key
    if settings.checkpoint_interval_seconds <= 0:
        yield
        return

    async def run() -> None:
        await checkpoint_once(app)

    async with running_periodic(
        "audit-checkpoints", settings.checkpoint_interval_seconds, run, logger=log
    ):
        yield


async def record_events(session: AsyncSession, events: Sequence[Event]) -> EventBatchResult:
    return await intake.record_events(session, events=events)


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    settings = settings or AuditSettings()
    app = build_app(
        settings,
        title="ALPR audit",
        description="Hash-chained transaction log, audit metrics and reports (GO 344.4(d), 344.6).",
        routers=ROUTERS,
        outbox=models.OUTBOX,
        # Every transaction of the suite lands here: claimed and chained in bulk, not per event.
        event_batch_handler=record_events,
        hooks=[checkpoint_writer],
    )
    app.state.checkpoints = CheckpointStore(settings)
    add_probe(app, verification.checkpoint_metrics)
    return app


__all__ = ["SPEC", "create_app", "handle_event"]

SPEC = ServiceSpec(
    name="audit",
    settings_cls=AuditSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
