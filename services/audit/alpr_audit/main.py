from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import models
from alpr_audit.settings import AuditSettings
from alpr_common.app import ServiceSpec, build_app
from alpr_common.events import Event


async def handle_event(session: AsyncSession, event: Event) -> None:
    return None


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    settings = settings or AuditSettings()
    return build_app(
        settings,
        title="ALPR audit",
        description="Hash-chained transaction log, audit metrics and reports (GO 344.4(d), 344.6).",
        routers=[],
        outbox=models.OUTBOX,
        event_handler=handle_event,
    )


SPEC = ServiceSpec(
    name="audit",
    settings_cls=AuditSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
