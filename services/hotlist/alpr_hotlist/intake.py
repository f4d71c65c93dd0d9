"""The event intake (`POST /v1/events`), as the kernel's `event_router` with stricter envelopes.

The kernel's `Event` lets a NUL or control character through in `id`, `source` and `type`, which
PostgreSQL refuses to store in `processed_event` (a 500, and a relay retrying a poison batch
forever). This route refuses such envelopes with 422 instead and otherwise behaves exactly like
the kernel's: one transaction per batch, each event id applied once through `consume`."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from alpr_common.auth import ServiceCaller
from alpr_common.db import SessionDep
from alpr_common.events import Event, EventBatchResult
from alpr_common.outbox import EventHandler, consume
from alpr_hotlist.models import OUTBOX

_SAFE = r"^[^\x00-\x1f\x7f]*$"


class IntakeEvent(Event):
    id: str = Field(min_length=1, max_length=64, pattern=_SAFE)
    source: str = Field(
        min_length=1, max_length=64, pattern=_SAFE, description="The service that emitted it"
    )
    type: str = Field(min_length=1, max_length=100, pattern=_SAFE, description="e.g. ingest.reads")
    subject: str | None = Field(default=None, max_length=200, pattern=_SAFE)


class IntakeBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[IntakeEvent] = Field(min_length=1, max_length=5000)


def intake_router(handler: EventHandler) -> APIRouter:
    router = APIRouter(tags=["internal"])

    @router.post("/v1/events", response_model=EventBatchResult)
    async def receive_events(
        batch: IntakeBatch, session: SessionDep, _caller: ServiceCaller
    ) -> EventBatchResult:
        """Internal: accept a batch of events from another service's outbox, once per event id."""
        return await consume(session, OUTBOX, batch.events, handler)

    return router
