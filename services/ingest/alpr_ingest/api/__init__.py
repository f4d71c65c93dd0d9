"""The ingest's HTTP routes, by subdomain: cameras and health, reads and search, holds."""

from __future__ import annotations

from alpr_ingest.api.cameras import router as cameras_router
from alpr_ingest.api.holds import router as holds_router
from alpr_ingest.api.reads import router as reads_router
from alpr_ingest.api.releases import router as releases_router

ROUTERS = (cameras_router, reads_router, holds_router, releases_router)

__all__ = ["ROUTERS"]
