"""The audit HTTP API, one router per resource: the log (entries and transactions), its
verification, and the signed checkpoints."""

from __future__ import annotations

from alpr_audit.api.checkpoints import router as checkpoints_router
from alpr_audit.api.log import router as log_router
from alpr_audit.api.verification import router as verification_router

ROUTERS = (log_router, verification_router, checkpoints_router)

__all__ = ["ROUTERS"]
