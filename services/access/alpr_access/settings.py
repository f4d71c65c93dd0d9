from __future__ import annotations

from alpr_common.settings import BaseServiceSettings, service_config


class AccessSettings(BaseServiceSettings):
    model_config = service_config("ACCESS_")

    service_name: str = "access"
    port: int = 8001
    database_url: str = "sqlite+aiosqlite:///var/access.db"
