"""The sharing service (GO 344.4(b), 344.5, 344.6(b)4-6): the one door through which ALPR data
leaves the department. Agencies, the four kinds of request, escalation to the Chief with the
three notices, release packages built by ingest, outcomes, and outside-agency misuse."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from alpr_common.app import ServiceSpec, build_app, error_response
from alpr_sharing import models
from alpr_sharing.api import ROUTERS
from alpr_sharing.errors import DependencyUnavailable
from alpr_sharing.settings import SharingSettings

RETRY_AFTER_SECONDS = 5


def create_app(settings: SharingSettings | None = None) -> FastAPI:
    settings = settings or SharingSettings()
    app = build_app(
        settings,
        title="ALPR sharing",
        description="Agencies; agency data, public-information, legally required and "
        "preservation requests; escalation to the Chief with the notices of 344.5(d); release "
        "packages; outcomes; outside-agency misuse and suspension (GO 344.4(b), 344.5, 344.6).",
        routers=ROUTERS,
        # Sharing produces events (to audit) and consumes none.
        outbox=models.OUTBOX,
    )

    @app.exception_handler(DependencyUnavailable)
    async def _retry_later(_: Request, exc: DependencyUnavailable) -> JSONResponse:
        # A peer down delays the step; nothing was recorded, so the caller retries.
        response = error_response(exc.status_code, exc.to_body())
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    return app


SPEC = ServiceSpec(
    name="sharing",
    settings_cls=SharingSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
