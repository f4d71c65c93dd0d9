"""The hotlist service: hot lists and entries, imports, the matching index, alerts and their
verification workflow, the live RTCC stream and wrong-vehicle incidents (GO 344.2(c), 344.3.2,
344.4(g))."""

from __future__ import annotations

import logging
import weakref
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.app import ServiceSpec, build_app
from alpr_common.contracts.ingest import READS, ReadsData
from alpr_common.events import Event, from_columns
from alpr_common.metrics import add_probe
from alpr_common.outbox import EventHandler
from alpr_hotlist import models
from alpr_hotlist.alerts import matching, workflow
from alpr_hotlist.alerts.backmatch import back_match_lifespan
from alpr_hotlist.alerts.index import PlateIndex
from alpr_hotlist.alerts.refresh import IndexKeeper, index_lifespan
from alpr_hotlist.alerts.stream import AlertBroadcaster
from alpr_hotlist.api import ROUTERS
from alpr_hotlist.settings import HotlistSettings

log = logging.getLogger("alpr.hotlist")


async def handle_event(app: FastAPI, session: AsyncSession, event: Event) -> None:
    """Called once per event id (the kernel dedupes); alerts are idempotent per read+entry."""
    if event.type != READS:
        log.debug("event type not consumed here", extra={"event_type": event.type})
        return
    try:
        batch = ReadsData.model_validate(event.data)
    except ValidationError:
        # Taken, not refused: it would fail the same way on every retry. Each read is checked
        # again before it is matched; a malformed one is skipped, the others matched.
        log.warning("ingest.reads event breaks its contract", extra={"event_id": event.id})
        return
    index = await _delivery_index(app, session)
    # Ingest sends the reads as columns; a list of read objects (the earlier form, still in an
    # outbox during an upgrade) is taken too.
    reads = batch.reads
    if reads is None:
        columns = batch.columns
        reads = from_columns(columns, rows=matching.could_match_rows(columns, index)) or []
    await matching.match_reads(session, app, reads, origin="live", index=index)


async def _delivery_index(app: FastAPI, session: AsyncSession) -> PlateIndex:
    """The index for the events of one delivery: its version is checked once per transaction
    (the events of a delivery are matched as of its start), not once per event."""
    transaction = session.sync_session.get_transaction()
    held = session.info.get(_INDEX_OF_DELIVERY)
    if held is not None and transaction is not None and held[0]() is transaction:
        return held[1]
    index = await app.state.index_keeper.current(session)
    transaction = session.sync_session.get_transaction()
    if transaction is not None:
        session.info[_INDEX_OF_DELIVERY] = (weakref.ref(transaction), index)
    return index


_INDEX_OF_DELIVERY = "hotlist.delivery_index"


def _handler(holder: dict[str, FastAPI]) -> EventHandler:
    async def handle(session: AsyncSession, event: Event) -> None:
        await handle_event(holder["app"], session, event)

    return handle


def create_app(
    settings: HotlistSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    settings = settings or HotlistSettings()
    holder: dict[str, FastAPI] = {}
    app = build_app(
        settings,
        title="ALPR hotlist",
        description=(
            "Hot lists, matching, alerts and their verification workflow, the RTCC stream and "
            "wrong-vehicle incidents (GO 344.2(c), 344.3.2, 344.4(g))."
        ),
        routers=ROUTERS,
        outbox=models.OUTBOX,
        event_handler=_handler(holder),
        hooks=[index_lifespan, back_match_lifespan],
        transport=transport,
    )
    holder["app"] = app
    app.state.index_keeper = IndexKeeper(settings)
    app.state.broadcaster = AlertBroadcaster(settings.stream_queue_size)
    add_probe(app, workflow.alert_metrics)
    return app


SPEC = ServiceSpec(
    name="hotlist",
    settings_cls=HotlistSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
