"""The audit service: event intake into the hash-chained transaction log, its verification,
signed checkpoints, and auditors' reads (GO 344.4(d), 344.6(c))."""

from __future__ import annotations

import asyncio
import contextlib
import functools
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
from alpr_common.tasks import periodic, running_periodic

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


STARTUP_VERIFY_RETRY_SECONDS = 5.0


@contextlib.asynccontextmanager
async def startup_verification(app: FastAPI) -> AsyncIterator[None]:
    """Verify the chain and its signed checkpoints once at start-up (the database may be a
    restored state, 344.4(d)). /readyz answers 503 until the entries have been verified, and
    stays so if they do not verify; checkpoints that disagree with verifying entries (a restore
    to an older point) are logged at ERROR without stopping intake."""
    settings: AuditSettings = app.state.settings
    if not settings.verify_at_startup:
        yield
        return
    app.state.chain_at_startup = "verifying the transaction log after start-up"
    done = asyncio.Event()

    async def run() -> None:
        db: Database = app.state.db
        async with db.read_sessionmaker() as session:
            try:
                result = await verification.verify_log(
                    session,
                    store=app.state.checkpoints,
                    checkpoint_count=settings.checkpoint_verify_count,
                    page_size=settings.verify_page_size,
                )
            finally:
                await session.rollback()
        done.set()
        if result.first_broken is None and result.head_problem is None:
            app.state.chain_at_startup = "ok"
            if result.ok:
                log.info("transaction log verified at start-up", extra={"seq": result.last_seq})
            else:
                # The entries verify; a checkpoint does not match them. After a restore to an
                # older point, checkpoints past the restored head are the record of what was
                # rolled back (verify_log has logged each at ERROR).
                log.error(
                    "transaction log entries verify at start-up, but %d checkpoint(s) do not "
                    "match them (after a restore: the entries rolled back); run "
                    "`python -m alpr_audit verify`",
                    len(result.checkpoint_problems),
                    extra={"seq": result.last_seq},
                )
            return
        # verify_log has logged the first broken entry at ERROR; readiness says what to do.
        app.state.chain_at_startup = (
            "error: the transaction log does not verify; run `python -m alpr_audit verify`"
        )

    task = asyncio.create_task(
        periodic("audit-startup-verification", STARTUP_VERIFY_RETRY_SECONDS, run, stop=done),
        name="audit-startup-verification",
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def chain_ready(app: FastAPI) -> str:
    return str(getattr(app.state, "chain_at_startup", "ok"))


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
        hooks=[startup_verification, checkpoint_writer],
    )
    app.state.checkpoints = CheckpointStore(settings)
    add_probe(app, verification.checkpoint_metrics)
    app.state.ready_checks["chain"] = functools.partial(chain_ready, app)
    return app


__all__ = ["SPEC", "create_app", "handle_event"]

SPEC = ServiceSpec(
    name="audit",
    settings_cls=AuditSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
