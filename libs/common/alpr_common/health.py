"""`/livez` says the process answers; `/readyz` says it can do its work (database reachable)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/livez", response_model=Health, include_in_schema=False)
async def livez() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    """The service can reach its database and is ready for traffic."""
    checks: dict[str, str] = {}
    try:
        async with request.app.state.db.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports any failure as not ready
        checks["database"] = f"error: {type(exc).__name__}"
    for name, check in getattr(request.app.state, "ready_checks", {}).items():
        checks[name] = await check()
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        Health(status="ok" if ok else "unavailable", checks=checks).model_dump(),
        status_code=200 if ok else 503,
    )
