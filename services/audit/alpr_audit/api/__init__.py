"""The audit HTTP API, one router per resource: the log (entries and transactions), its
verification, the signed checkpoints, the quarterly report and the policy-change log."""

from __future__ import annotations

from alpr_audit.api.checkpoints import router as checkpoints_router
from alpr_audit.api.log import router as log_router
from alpr_audit.api.policy_changes import router as policy_changes_router
from alpr_audit.api.reports import router as reports_router
from alpr_audit.api.transparency import router as transparency_router
from alpr_audit.api.verification import router as verification_router

ROUTERS = (
    log_router,
    verification_router,
    checkpoints_router,
    reports_router,
    policy_changes_router,
    transparency_router,
)

__all__ = ["ROUTERS"]
