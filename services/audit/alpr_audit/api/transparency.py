"""The public transparency page: no login, no plate, no person (the gateway serves a route
without security to anyone and rate-limits it per address). Computed at most every
`AUDIT_TRANSPARENCY_CACHE_SECONDS` and cached by clients as long."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from alpr_audit import transparency
from alpr_audit.deps import SettingsDep
from alpr_audit.schemas import TransparencyRead
from alpr_common.db import SessionDep, utcnow

router = APIRouter(prefix="/v1", tags=["transparency"])

_CACHE = "transparency_cache"


async def cached_page(
    request: Request, session: SessionDep, settings: SettingsDep
) -> TransparencyRead:
    """The page, recomputed when the cached one is older than the setting."""
    cached: tuple[float, TransparencyRead] | None = getattr(request.app.state, _CACHE, None)
    now = time.monotonic()
    if cached is not None and now - cached[0] < settings.transparency_cache_seconds:
        return cached[1]
    page = await transparency.transparency(session, now=utcnow(), revision=settings.policy_revision)
    setattr(request.app.state, _CACHE, (now, page))
    return page


PageDep = Annotated[TransparencyRead, Depends(cached_page)]


def _cache_headers(settings: SettingsDep) -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={int(settings.transparency_cache_seconds)}"}


@router.get("/transparency", response_model=TransparencyRead)
async def get_transparency(
    page: PageDep, settings: SettingsDep, response: Response
) -> TransparencyRead:
    """Cameras, retention, the lists in use and counts of use: public (344.6)."""
    response.headers.update(_cache_headers(settings))
    return page


@router.get(
    "/transparency/html",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "The page, as HTML"}},
)
async def get_transparency_html(page: PageDep, settings: SettingsDep) -> HTMLResponse:
    """The transparency page as HTML: no script, nothing loaded from elsewhere."""
    return HTMLResponse(
        transparency.html_page(page),
        headers={
            **_cache_headers(settings),
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )
