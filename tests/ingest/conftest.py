from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alpr_ingest.main import SPEC
from alpr_ingest.settings import IngestSettings
from tests.helpers.ingest import NOW, Clock, Ingest


@pytest.fixture
def service_spec():
    return SPEC


@pytest.fixture
def app_settings(migrated, tmp_path) -> IngestSettings:
    return IngestSettings(
        environment="test",
        run_relay=False,
        database_url=migrated.url,
        image_dir=tmp_path / "images",
        export_dir=tmp_path / "exports",
    )


@pytest.fixture
def clock(app) -> Clock:
    """The service's clock, fixed at the time the vendor fixtures were captured."""
    c = Clock(NOW)
    app.state.runtime.clock = c
    return c


@pytest.fixture
def ingest(app, client, tokens, db, clock, purpose_headers) -> Ingest:
    return Ingest(app=app, client=client, tokens=tokens, db=db, clock=clock)


__all__ = ["UTC", "datetime"]
