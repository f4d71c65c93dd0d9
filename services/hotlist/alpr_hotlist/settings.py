from __future__ import annotations

from alpr_common.settings import BaseServiceSettings, service_config


class HotlistSettings(BaseServiceSettings):
    model_config = service_config("HOTLIST_")

    service_name: str = "hotlist"
    port: int = 8003
    database_url: str = "sqlite+aiosqlite:///var/hotlist.db"
