"""The sharing service (GO 344.5): agencies, data-sharing, public-information and preservation
requests. Its tables and routes come with the sharing issue; today it runs, migrates and
answers health checks so that the suite, the gateway's route table and the manifests already
have their sixth member."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from alpr_common.app import ServiceSpec, build_app
from alpr_sharing import models
from alpr_sharing.settings import SharingSettings


def create_app(settings: SharingSettings | None = None) -> FastAPI:
    settings = settings or SharingSettings()
    return build_app(
        settings,
        title="ALPR sharing",
        description="Agencies and data-sharing, public-information and preservation requests "
        "(GO 344.5).",
        outbox=models.OUTBOX,
    )


SPEC = ServiceSpec(
    name="sharing",
    settings_cls=SharingSettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
