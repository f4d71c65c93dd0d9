from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.app import ServiceSpec, build_app
from alpr_common.auth import ServiceCaller
from alpr_common.db import Database, SessionDep
from alpr_common.errors import Unprocessable, responses
from alpr_common.events import Event, EventBatch, EventBatchResult
from alpr_common.outbox import consume
from alpr_ingest import models, purge
from alpr_ingest.api import ROUTERS
from alpr_ingest.deps import Runtime
from alpr_ingest.schemas import ReadBatchIn
from alpr_ingest.settings import IngestSettings

log = logging.getLogger("alpr.ingest")


async def handle_event(session: AsyncSession, event: Event) -> None:
    """Ingest consumes no other service's events today; any that arrive are acknowledged."""
    log.debug("event ignored", extra={"event_id": event.id, "event_type": event.type})


events_router = APIRouter(tags=["internal"])


@events_router.post(
    "/v1/events", response_model=EventBatchResult, responses=responses(Unprocessable)
)
async def receive_events(
    batch: EventBatch, session: SessionDep, _caller: ServiceCaller
) -> EventBatchResult:
    """Internal: accept a batch of events from another service's outbox, once per event id."""
    # The kernel's event route stores the envelope's strings as they come; PostgreSQL refuses
    # NUL in text, so refuse such an event here with a 422 instead of failing with a 500.
    if "\\u0000" in batch.model_dump_json():
        raise Unprocessable("event text must not contain NUL characters")
    return await consume(session, models.OUTBOX, batch.events, handle_event)


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
    task = None
    if rt.settings.maintenance_enabled:
        task = asyncio.create_task(_maintenance_loop(db, rt), name="ingest-maintenance")
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _maintenance_loop(db: Database, rt: Runtime) -> None:
    while True:
        try:
            await purge.run_purge(db, rt)
        except Exception:
            log.exception("scheduled purge failed; retrying at the next interval")
        await asyncio.sleep(rt.settings.maintenance_interval_seconds)


def _with_body_schemas(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Routes that read their body themselves (to reject reads one by one) document it here, and
    every route with a body documents the 400 FastAPI sends for one it cannot decode."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        model = ReadBatchIn.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in model.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components["ReadBatchIn"] = model
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                if isinstance(op, dict) and "requestBody" in op:
                    # FastAPI answers a body it cannot decode with 400 before any route code.
                    op["responses"].setdefault(
                        "400",
                        {
                            "description": "The body is not decodable (not JSON, wrong encoding)",
                            "content": {"application/json": {"schema": ref}},
                        },
                    )
        return schema

    return openapi


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
        routers=[*ROUTERS, events_router],
        outbox=models.OUTBOX,
        hooks=[maintenance],
    )
    app.state.runtime = Runtime.from_settings(settings)
    app.openapi = _with_body_schemas(app)  # type: ignore[method-assign]
    return app


SPEC = ServiceSpec(
    name="ingest",
    settings_cls=IngestSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
