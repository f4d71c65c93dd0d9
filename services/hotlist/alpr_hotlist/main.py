from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_hotlist import models
from alpr_hotlist.settings import HotlistSettings
from alpr_common.app import ServiceSpec, build_app
from alpr_common.events import Event


async def handle_event(session: AsyncSession, event: Event) -> None:
    return None


def create_app(settings: HotlistSettings | None = None) -> FastAPI:
    settings = settings or HotlistSettings()
    return build_app(
        settings,
        title="ALPR hotlist",
        description="Hot lists, matching, alerts and their verification workflow (GO 344.2(c), 344.3.2).",
        routers=[],
        outbox=models.OUTBOX,
        event_handler=handle_event,
    )


SPEC = ServiceSpec(
    name="hotlist",
    settings_cls=HotlistSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
