"""The sharing HTTP API, one router per resource."""

from __future__ import annotations

from alpr_sharing.api.agencies import router as agencies_router
from alpr_sharing.api.misuse import router as misuse_router
from alpr_sharing.api.packages import router as packages_router
from alpr_sharing.api.requests import router as requests_router

ROUTERS = (agencies_router, requests_router, packages_router, misuse_router)

__all__ = ["ROUTERS"]
