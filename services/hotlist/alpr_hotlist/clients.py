"""Calls to other services: ingest's internal back-match (`POST /v1/reads/back-match`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from alpr_common.errors import AppError, UpstreamError
from alpr_hotlist.settings import HotlistSettings

log = logging.getLogger("alpr.hotlist.clients")


class BackMatchUnavailable(UpstreamError):
    """Ingest could not answer a back-match now; the job is retried later."""


async def back_match(app: FastAPI, *, plates: list[str], since: datetime) -> list[dict[str, Any]]:
    """Reads captured since `since` whose plate (or its OCR-confusable form) is one of `plates`."""
    settings: HotlistSettings = app.state.settings
    http: httpx.AsyncClient = app.state.http
    try:
        token = await app.state.tokens.get()
        resp = await http.post(
            f"{settings.url_of('ingest')}/v1/reads/back-match",
            json={"plates": plates, "since": since.isoformat(), "confusable": True},
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as exc:
        raise BackMatchUnavailable(f"ingest unreachable: {type(exc).__name__}") from exc
    except AppError as exc:  # no service token (access down or no credentials)
        raise BackMatchUnavailable(f"no service token: {exc.detail}") from exc
    if resp.status_code != 200:
        raise BackMatchUnavailable(f"ingest answered HTTP {resp.status_code}")
    try:
        body = resp.json()
    except ValueError as exc:
        raise BackMatchUnavailable("ingest answered something other than JSON") from exc
    reads = body.get("reads") if isinstance(body, dict) else None
    if not isinstance(reads, list):
        raise BackMatchUnavailable("ingest's back-match answer has no list of reads")
    if body.get("truncated"):
        log.warning("back-match answer truncated by ingest", extra={"plates": len(plates)})
    return [r for r in reads if isinstance(r, dict)]
