"""Events sharing sends to audit: every step of a request and every decision about an agency
(344.4(b), 344.5, 344.6(b)4-6), built from the kernel's contracts (`contracts.sharing`) and
queued through the outbox in the transaction that makes the change, so each step reaches audit
once: retries of a refused step queue nothing, and a step's event id is delivered once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auditing import emit_audit
from alpr_common.auth import Principal
from alpr_common.contracts import sharing as contract
from alpr_common.contracts.base import EventData
from alpr_sharing.models import OUTBOX, Agency, SharingRequest

SOURCE = "sharing"


def step(request: SharingRequest, agency: Agency | None) -> dict[str, Any]:
    """The fields every request-step event carries (contract.RequestStepData), plus the case."""
    return {
        "request_id": request.id,
        "kind": request.kind,
        "requester_type": request.requester_type,
        "agency_id": request.agency_id,
        "agency_name": agency.name if agency is not None else None,
        "agency_kind": agency.kind if agency is not None else None,
        "case_number": request.case_number,
    }


async def emit(session: AsyncSession, type_: str, *, actor: Principal, data: EventData) -> None:
    """Queue `type_` for audit; `data` is the contract's model for that type."""
    expected = contract.EVENT_TYPES[type_]
    if not isinstance(data, expected):
        raise TypeError(f"{type_} carries {expected.__name__}, not {type(data).__name__}")
    await emit_audit(session, OUTBOX, source=SOURCE, type=type_, actor=actor, data=data)
