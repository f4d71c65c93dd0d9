"""The audit HTTP API, one router per resource: the log (entries and transactions), its
verification, the signed checkpoints, the quarterly report, the policy-change log, the public
transparency page, the random-sample reviews, misuse allegations, usage findings and the equity
report."""

from __future__ import annotations

from alpr_audit.api.allegations import router as allegations_router
from alpr_audit.api.checkpoints import router as checkpoints_router
from alpr_audit.api.equity import router as equity_router
from alpr_audit.api.findings import router as findings_router
from alpr_audit.api.log import router as log_router
from alpr_audit.api.policy_changes import router as policy_changes_router
from alpr_audit.api.reports import router as reports_router
from alpr_audit.api.reviews import router as reviews_router
from alpr_audit.api.transparency import router as transparency_router
from alpr_audit.api.verification import router as verification_router

ROUTERS = (
    log_router,
    verification_router,
    checkpoints_router,
    reports_router,
    policy_changes_router,
    transparency_router,
    reviews_router,
    allegations_router,
    findings_router,
    equity_router,
)

__all__ = ["ROUTERS"]
