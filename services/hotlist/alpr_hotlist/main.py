"""The hotlist service: hot lists and entries, imports, the matching index, alerts and their
verification workflow, the live RTCC stream and wrong-vehicle incidents (GO 344.2(c), 344.3.2,
344.4(g))."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.app import ServiceSpec, build_app
from alpr_common.events import Event
from alpr_common.outbox import EventHandler
from alpr_hotlist import alerts, models
from alpr_hotlist.api import ROUTERS
from alpr_hotlist.backmatch import back_match_lifespan
from alpr_hotlist.index import IndexKeeper, index_lifespan
from alpr_hotlist.intake import intake_router
from alpr_hotlist.settings import HotlistSettings
from alpr_hotlist.stream import AlertBroadcaster

log = logging.getLogger("alpr.hotlist")

READS_EVENT = "ingest.reads"


async def handle_event(app: FastAPI, session: AsyncSession, event: Event) -> None:
    """Called once per event id (the kernel dedupes); alerts are idempotent per read+entry."""
    if event.type != READS_EVENT:
        log.debug("event type not consumed here", extra={"event_type": event.type})
        return
    reads = event.data.get("reads")
    if not isinstance(reads, list):
        log.warning("ingest.reads event without a reads list", extra={"event_id": event.id})
        return
    await alerts.match_reads(session, app, reads, origin="live")


def _handler(holder: dict[str, FastAPI]) -> EventHandler:
    async def handle(session: AsyncSession, event: Event) -> None:
        await handle_event(holder["app"], session, event)

    return handle


def _document_malformed_bodies(app: FastAPI) -> None:
    """FastAPI answers 400 when a body cannot be parsed at all (not JSON); the kernel's OpenAPI
    does not list it, so every operation with a body declares it here."""
    kernel_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        schema = kernel_openapi()
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                if isinstance(op, dict) and "requestBody" in op:
                    op["responses"].setdefault(
                        "400",
                        {
                            "description": "The body could not be parsed",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorBody"}
                                }
                            },
                        },
                    )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: HotlistSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    settings = settings or HotlistSettings()
    holder: dict[str, FastAPI] = {}
    # The intake is mounted here rather than by the kernel: see alpr_hotlist.intake.
    app = build_app(
        settings,
        title="ALPR hotlist",
        description=(
            "Hot lists, matching, alerts and their verification workflow, the RTCC stream and "
            "wrong-vehicle incidents (GO 344.2(c), 344.3.2, 344.4(g))."
        ),
        routers=[*ROUTERS, intake_router(_handler(holder))],
        outbox=models.OUTBOX,
        hooks=[index_lifespan, back_match_lifespan],
        transport=transport,
    )
    holder["app"] = app
    _document_malformed_bodies(app)
    app.state.index_keeper = IndexKeeper(settings)
    app.state.broadcaster = AlertBroadcaster(settings.stream_queue_size)
    return app


SPEC = ServiceSpec(
    name="hotlist",
    settings_cls=HotlistSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
