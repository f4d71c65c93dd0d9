from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access import models
from alpr_access.settings import AccessSettings
from alpr_common.app import ServiceSpec, build_app
from alpr_common.events import Event


async def handle_event(session: AsyncSession, event: Event) -> None:
    return None


def create_app(settings: AccessSettings | None = None) -> FastAPI:
    settings = settings or AccessSettings()
    return build_app(
        settings,
        title="ALPR access",
        description="Users, roles, training, credentials, tokens and login attempts (GO 344.2(b), 344.4(c), 344.7).",
        routers=[],
        outbox=models.OUTBOX,
        event_handler=handle_event,
    )


SPEC = ServiceSpec(
    name="access",
    settings_cls=AccessSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
