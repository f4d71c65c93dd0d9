"""The base every event contract shares."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EventData(BaseModel):
    """An event's `data`. The fields a receiver reads must have the right type; anything else is
    kept (a newer sender may add fields an older receiver does not know yet)."""

    model_config = ConfigDict(extra="allow", strict=True)


class AuditedData(EventData):
    """The data of an event sent to audit: who made the change (`alpr_common.auditing`)."""

    actor: str
    actor_name: str | None = None
    actor_roles: list[str] = []
