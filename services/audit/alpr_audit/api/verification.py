"""Verifying the hash chain on demand (344.4(d))."""

from __future__ import annotations

from fastapi import APIRouter

from alpr_audit import verification
from alpr_audit.auth import AuditReader
from alpr_audit.deps import CheckpointsDep, SettingsDep
from alpr_audit.schemas import LogVerificationRead
from alpr_common.db import ReadSessionDep
from alpr_common.errors import Forbidden, Unauthorized, responses

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get(
    "/log-verifications",
    response_model=LogVerificationRead,
    responses=responses(Unauthorized, Forbidden),
)
async def verify_log(
    session: ReadSessionDep, _reader: AuditReader, settings: SettingsDep, store: CheckpointsDep
) -> LogVerificationRead:
    """Recompute the hash chain now and check it against the signed checkpoints (344.4(d))."""
    return await verification.verify_log(
        session,
        store=store,
        checkpoint_count=settings.checkpoint_verify_count,
        page_size=settings.verify_page_size,
    )
