from __future__ import annotations

from alpr_common.settings import BaseServiceSettings, service_config


class IngestSettings(BaseServiceSettings):
    model_config = service_config("INGEST_")

    service_name: str = "ingest"
    port: int = 8002
    database_url: str = "sqlite+aiosqlite:///var/ingest.db"
