"""Events the gateway sends: its transaction log, one request and one outcome per transaction
(344.4(d): every transaction is logged)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from alpr_common.contracts.base import EventData

REQUEST = "gateway.request"
RESPONSE = "gateway.response"


class GatewayRequestData(EventData):
    request_id: str = Field(min_length=1, max_length=64)
    method: str
    path: str
    query: str | None = None
    subject: str | None = None
    roles: list[str] = []
    source_address: str | None = None
    purpose: str | None = None
    case_number: str | None = None
    reason: str | None = None
    criminal_nexus: str | None = None
    flags: list[str] = []


class GatewayResponseData(EventData):
    request_id: str = Field(min_length=1, max_length=64)
    status: int = Field(ge=100, le=599)
    bytes: int | None = Field(None, ge=0)
    latency_ms: float | None = Field(None, ge=0)
    refused_reason: str | None = None


EVENT_TYPES: dict[str, type[BaseModel]] = {
    REQUEST: GatewayRequestData,
    RESPONSE: GatewayResponseData,
}
