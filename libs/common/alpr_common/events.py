"""The event envelope every service sends and accepts (CloudEvents 1.0 field names).

    {"specversion": "1.0", "id": "<uuid>", "source": "gateway", "type": "gateway.request",
     "time": "2026-11-30T06:32:45.123456Z", "subject": "user:42", "data": {...}}

`id` is unique per event and is what consumers de-duplicate on: a relay may deliver an event more
than once, a consumer applies it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from alpr_common.db import utcnow


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    source: str = Field(pattern=r"^[a-z0-9_.-]{1,64}$", description="The emitting service")
    type: str = Field(pattern=r"^[a-z0-9_.-]{1,100}$", description="e.g. gateway.request")
    time: datetime = Field(default_factory=utcnow)
    subject: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[Event] = Field(min_length=1, max_length=5000)


class EventBatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int = 0


def from_columns(columns: Any, rows: Iterable[int] | None = None) -> list[dict[str, Any]] | None:
    """Records from an event's columnar body, `{field: [value per record], ...}` (each field
    name written once, not once per record: a read batch's event is half the size). None unless
    `columns` is an object of lists of one length. `rows`: only the records at those positions
    (a consumer that can settle most records from one column builds only the others)."""
    if not isinstance(columns, dict) or not columns:
        return None
    lists = list(columns.values())
    if not all(isinstance(v, list) for v in lists) or len({len(v) for v in lists}) != 1:
        return None
    fields = list(columns)
    if rows is None:
        return [dict(zip(fields, values, strict=True)) for values in zip(*lists, strict=True)]
    return [dict(zip(fields, [v[i] for v in lists], strict=True)) for i in rows]
