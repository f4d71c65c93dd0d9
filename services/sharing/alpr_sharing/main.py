"""The sharing service (GO 344.4(b), 344.5, 344.6(b)4-6): the one door through which ALPR data
leaves the department. Agencies, the four kinds of request, escalation to the Chief with the
three notices, release packages built by ingest, outcomes, and outside-agency misuse."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from alpr_common.app import ServiceSpec, build_app
from alpr_common.metrics import add_probe
from alpr_sharing import models, requests
from alpr_sharing.api import ROUTERS
from alpr_sharing.settings import SharingSettings


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
    add_probe(app, requests.request_metrics)
    return app


SPEC = ServiceSpec(
    name="sharing",
    settings_cls=SharingSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
