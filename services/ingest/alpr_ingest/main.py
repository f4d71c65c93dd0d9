from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_ingest import models
from alpr_ingest.settings import IngestSettings
from alpr_common.app import ServiceSpec, build_app
from alpr_common.events import Event


async def handle_event(session: AsyncSession, event: Event) -> None:
    return None


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    return build_app(
        settings,
        title="ALPR ingest",
        description="Cameras, plate reads, search, retention purge, holds and case exports (GO 344.2(a), 344.4(d)-(f)).",
        routers=[],
        outbox=models.OUTBOX,
        event_handler=handle_event,
    )


SPEC = ServiceSpec(
    name="ingest",
    settings_cls=IngestSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
