"""The hotlist HTTP API, one router per subdomain."""

from __future__ import annotations

from alpr_hotlist.api.alerts import router as alerts_router
from alpr_hotlist.api.entries import router as entries_router
from alpr_hotlist.api.grounds import router as grounds_router
from alpr_hotlist.api.imports import router as imports_router
from alpr_hotlist.api.incidents import router as incidents_router
from alpr_hotlist.api.lists import router as lists_router

ROUTERS = (
    lists_router,
    entries_router,
    imports_router,
    alerts_router,
    incidents_router,
    grounds_router,
)

__all__ = ["ROUTERS"]
