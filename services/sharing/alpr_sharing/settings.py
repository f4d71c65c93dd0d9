from __future__ import annotations

from alpr_common.settings import BaseServiceSettings, service_config


class SharingSettings(BaseServiceSettings):
    model_config = service_config("SHARING_")

    service_name: str = "sharing"
    port: int = 8004
    database_url: str = "sqlite+aiosqlite:///var/sharing.db"
