"""The audit HTTP API, one router per resource: the log (entries and transactions), its
verification, the signed checkpoints, the random-sample reviews, misuse allegations, usage
findings and the equity report."""

from __future__ import annotations

from alpr_audit.api.allegations import router as allegations_router
from alpr_audit.api.checkpoints import router as checkpoints_router
from alpr_audit.api.equity import router as equity_router
from alpr_audit.api.findings import router as findings_router
from alpr_audit.api.log import router as log_router
from alpr_audit.api.reviews import router as reviews_router
from alpr_audit.api.verification import router as verification_router

ROUTERS = (
    log_router,
    verification_router,
    checkpoints_router,
    reviews_router,
    allegations_router,
    findings_router,
    equity_router,
)

__all__ = ["ROUTERS"]
