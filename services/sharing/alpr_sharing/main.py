from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_sharing import models
from alpr_sharing.settings import SharingSettings
from alpr_common.app import ServiceSpec, build_app
from alpr_common.events import Event


async def handle_event(session: AsyncSession, event: Event) -> None:
    return None


def create_app(settings: SharingSettings | None = None) -> FastAPI:
    settings = settings or SharingSettings()
    return build_app(
        settings,
        title="ALPR sharing",
        description="Agencies and data-sharing, public-information and preservation requests (GO 344.5).",
        routers=[],
        outbox=models.OUTBOX,
        event_handler=handle_event,
    )


SPEC = ServiceSpec(
    name="sharing",
    settings_cls=SharingSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
